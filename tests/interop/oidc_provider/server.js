// panva's oidc-provider as the OpenID Provider of Propylon's OIDC interoperability tests,
// started by tests/interop/oidc_op.py: `node server.js CONFIG.json`.
//
// CONFIG: {"port": 0 or a port to listen on again, "jwks_path": file of the private JWK Set the
// OP signs with (read at start, so a restart with another file rotates its keys),
// "clients": [oidc-provider client metadata], "users": [{"sub", "email", "email_verified",
// "given_name", "family_name", "name", "groups", "hd", ...}], "cookie_keys": [...]}.
// Listens on 127.0.0.1 only; issuer "http://127.0.0.1:PORT"; prints {"issuer", "port"} as one
// JSON line on stdout once it accepts connections.
//
// Sign-in without a form: an authorization request whose login_hint names a configured user
// (by email or sub) signs that user in at once; otherwise a minimal form asks for the login.
// Consent is granted for whatever the client asked. PKCE is required of every client; RFC 9207's
// `iss` authorization response parameter is always sent by oidc-provider 9; back-channel logout
// and RP-initiated logout (end_session) are on.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const jwks = JSON.parse(readFileSync(config.jwks_path, 'utf8'));
const users = config.users || [];

function findUser(login) {
  if (!login) return undefined;
  const wanted = String(login).toLowerCase();
  return users.find((u) => u.sub === login || (u.email && u.email.toLowerCase() === wanted));
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readForm(req, limit = 16384) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > limit) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

function loginForm(ctx, uid, login, error) {
  ctx.type = 'html';
  ctx.status = error ? 400 : 200;
  ctx.body = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><h1>Sign in to the test OP</h1>${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="login">Login</label> <input id="login" name="login" value="${escapeHtml(login || '')}">
<button type="submit">Sign in</button></form></body></html>`;
}

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.port || 0, '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: config.clients || [],
  jwks,
  cookies: { keys: config.cookie_keys || [randomBytes(32).toString('hex')] },
  // Claims by scope (Core §5.4); `groups`, `roles` and Google's `hd` come with openid, as Entra
  // and Google send them without a scope of their own.
  claims: {
    openid: ['sub', 'groups', 'roles', 'hd'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username', 'upn'],
  },
  // the claims of the granted scopes go in the ID token even when an access token is issued too
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(_ctx, sub) {
    const user = users.find((u) => u.sub === sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { ...user };
      },
    };
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  // Propylon listens on loopback too: without oidc-provider's dispatcher refusing special-use
  // addresses (its SSRF protection), so back-channel logout tokens reach it
  fetch(url, options) {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
  async renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
});
provider.proxy = false;

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (!match) {
    await next();
    return;
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== match[1]) ctx.throw(400, 'interaction mismatch');
  const { prompt, params } = details;
  let result;
  if (prompt.name === 'login') {
    const posted = ctx.method === 'POST' && match[2];
    const login = posted ? (await readForm(ctx.req)).get('login') : params.login_hint;
    const user = findUser(login);
    if (!user) {
      loginForm(ctx, details.uid, login, posted ? 'unknown login' : undefined);
      return;
    }
    result = { login: { accountId: user.sub } };
  } else if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  } else {
    ctx.throw(400, `unsupported prompt ${prompt.name}`);
  }
  const to = await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission: false,
  });
  ctx.status = 303;
  ctx.redirect(to);
});

provider.on('backchannel.error', (_ctx, err, client) => {
  process.stderr.write(`backchannel logout to ${client.clientId} failed: ${err.message}\n`);
});

server.on('request', provider.callback());
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
