// samlify as the IdP: reads one JSON request on stdin, writes {"SAMLResponse", "RelayState"}.
// SP-initiated: "query" is the HTTP-Redirect query string Propylon sent the browser with;
// IdP-initiated: no query. "c14n" picks the Reference transform's canonicalization
// (xml-crypto signs SignedInfo with exclusive c14n whatever is chosen).
'use strict';
const samlify = require('samlify');

samlify.setSchemaValidator({ validate: () => Promise.resolve('skipped') });

const NS = samlify.Constants.namespace;

async function main() {
  const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const sp = samlify.ServiceProvider({
    metadata: input.sp_metadata,
    wantMessageSigned: true,
    transformationAlgorithms: [
      'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
      input.c14n || 'http://www.w3.org/2001/10/xml-exc-c14n#',
    ],
  });
  const idp = samlify.IdentityProvider({
    entityID: input.entity_id,
    privateKey: input.key_pem,
    signingCert: input.cert_pem,
    wantAuthnRequestsSigned: false,
    singleSignOnService: [{ Binding: NS.binding.redirect, Location: input.sso_url }],
  });
  let requestInfo = null;
  let relayState;
  if (input.query) {
    const params = new URLSearchParams(input.query);
    const query = Object.fromEntries(params.entries());
    requestInfo = await idp.parseLoginRequest(sp, 'redirect', { query });
    relayState = query.RelayState;
  }
  const now = new Date();
  const later = new Date(now.getTime() + 5 * 60 * 1000);
  const acs = sp.entityMeta.getAssertionConsumerService('post');
  const assertionId = '_' + require('crypto').randomBytes(16).toString('hex');
  const replace = (template) => {
    const id = '_' + require('crypto').randomBytes(16).toString('hex');
    const values = {
      ID: id,
      AssertionID: assertionId,
      Destination: acs,
      Audience: sp.entityMeta.getEntityID(),
      SubjectRecipient: acs,
      Issuer: input.entity_id,
      IssueInstant: now.toISOString(),
      StatusCode: samlify.Constants.StatusCode.Success,
      ConditionsNotBefore: now.toISOString(),
      ConditionsNotOnOrAfter: later.toISOString(),
      SubjectConfirmationDataNotOnOrAfter: later.toISOString(),
      NameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      NameID: input.email,
      InResponseTo: requestInfo ? requestInfo.extract.request.id : null,
      AttributeStatement: '',
    };
    // markup, not a value (the tag replacement would escape it): spliced in first
    const authn =
      `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="${assertionId}">` +
      '<saml:AuthnContext><saml:AuthnContextClassRef>' +
      'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport' +
      '</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>';
    const context = samlify.SamlLib.replaceTagsByValue(
      template.replace('{AuthnStatement}', authn), values,
    );
    return { id, context };
  };
  const { context } = await idp.createLoginResponse(
    sp, requestInfo, 'post', { email: input.email }, replace, false, relayState,
  );
  process.stdout.write(JSON.stringify({ SAMLResponse: context, RelayState: relayState || null }));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err));
  process.exit(1);
});
