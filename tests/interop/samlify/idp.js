// samlify as the IdP: reads one JSON request on stdin, writes one JSON answer on stdout.
// "action" (default "login_response"):
// - "login_response": {"SAMLResponse", "RelayState"}. SP-initiated: "query" is the
//   HTTP-Redirect query string Propylon sent the browser with; IdP-initiated: no query.
//   "c14n" picks the Reference transform's canonicalization (xml-crypto signs SignedInfo
//   with exclusive c14n whatever is chosen).
// - "logout_response": "query" is Propylon's HTTP-Redirect LogoutRequest; samlify checks
//   its query signature with the SP metadata's certificate and answers with a signed
//   HTTP-Redirect LogoutResponse: {"name_id", "session_index", "request_id", "url"}.
// - "logout_request": a signed HTTP-Redirect LogoutRequest for "email" and
//   "session_index": {"request_id", "url"}.
// - "parse_logout_response": "query" is Propylon's answer to that; samlify checks its
//   signature and Status (samlify refuses any but Success):
//   {"in_response_to", "issuer", "sig_alg"}.
'use strict';
const samlify = require('samlify');

samlify.setSchemaValidator({ validate: () => Promise.resolve('skipped') });

const NS = samlify.Constants.namespace;

async function main() {
  const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const sp = samlify.ServiceProvider({
    metadata: input.sp_metadata,
    wantMessageSigned: true,
    wantLogoutRequestSigned: true,
    wantLogoutResponseSigned: true,
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
    singleLogoutService: [{ Binding: NS.binding.redirect, Location: input.slo_url || input.sso_url }],
    nameIDFormat: ['urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'],
    wantLogoutRequestSigned: true,
    wantLogoutResponseSigned: true,
    requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  });
  const action = input.action || 'login_response';
  if (action !== 'login_response') {
    process.stdout.write(JSON.stringify(await logout(action, input, idp, sp)));
    return;
  }
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

// Bindings §3.4.4.1: the signature covers the parameters as they were sent, URL-encoded.
function octetString(query, param) {
  const raw = Object.fromEntries(query.split('&').map((p) => [p.split('=')[0], p]));
  return [param, 'RelayState', 'SigAlg'].filter((k) => k in raw).map((k) => raw[k]).join('&');
}

function redirectRequest(query, param) {
  const parsed = Object.fromEntries(new URLSearchParams(query).entries());
  return { query: parsed, octetString: octetString(query, param) };
}

async function logout(action, input, idp, sp) {
  if (action === 'logout_response') {
    const req = redirectRequest(input.query, 'SAMLRequest');
    const info = await idp.parseLogoutRequest(sp, 'redirect', req);
    const { context } = idp.createLogoutResponse(sp, info, 'redirect', req.query.RelayState);
    return {
      name_id: info.extract.nameID,
      session_index: info.extract.sessionIndex,
      request_id: info.extract.request.id,
      url: context,
    };
  }
  if (action === 'logout_request') {
    const { id, context } = idp.createLogoutRequest(
      sp, 'redirect', { logoutNameID: input.email, sessionIndex: input.session_index },
      { relayState: input.relay_state || '' },
    );
    return { request_id: id, url: context };
  }
  if (action === 'parse_logout_response') {
    const info = await idp.parseLogoutResponse(
      sp, 'redirect', redirectRequest(input.query, 'SAMLResponse'),
    );
    return {
      in_response_to: info.extract.response.inResponseTo,
      issuer: info.extract.issuer,
      sig_alg: info.sigAlg,
    };
  }
  throw new Error('unknown action ' + action);
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err));
  process.exit(1);
});
