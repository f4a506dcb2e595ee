// Customer Portal flows with @epilot/customer-portal-client 0.23.1 (operations both it and the
// published fact sheet agree on). Extension point: add flows here (name -> async (ctx) => {}).
'use strict';

const PKG = '@epilot/customer-portal-client';

module.exports = {
  'a portal token is valid, an unknown one is refused with a message': async ({ client, tokens, failure, assert }) => {
    const res = await client(PKG, tokens.portal).validateToken();
    assert.equal(res.status, 204);
    const refused = await failure(client(PKG, 'not-a-token').validateToken());
    assert.equal(refused.status, 401);
    assert.equal(typeof refused.data.message, 'string');
  },
  'my user, my contact, my contracts': async ({ client, tokens, assert }) => {
    const api = client(PKG, tokens.portal);
    const user = await api.getPortalUser();
    assert.ok(user.data.data.email);
    const contact = await api.getContact();
    assert.equal(contact.data.entity._schema, 'contact');
    const contracts = await api.getAllContracts({ size: 5 });
    assert.ok(contracts.data.data.length >= 1);
    const one = await api.getContract({ id: contracts.data.data[0]._id });
    assert.equal(one.data.entity._id, contracts.data.data[0]._id);
  },
  "another customer's contract is not found, the SDK reads the message": async ({ client, tokens, failure, assert }) => {
    const other = await client(PKG, tokens.portal2).getAllContracts({ size: 1 });
    const res = await failure(client(PKG, tokens.portal).getContract({ id: other.data.data[0]._id }));
    assert.ok([403, 404].includes(res.status));
    assert.equal(typeof res.data.message, 'string');
  },
  'portal configuration with a portal token or an epilot token': async ({ client, tokens, assert }) => {
    const mine = await client(PKG, tokens.portal).getPortalConfig();
    assert.equal(mine.data.origin, 'END_CUSTOMER_PORTAL');
    assert.equal(mine.data.identity_providers[0].provider_type, 'OIDC');
    const admin = await client(PKG, tokens.org).getPortalConfig({ origin: 'INSTALLER_PORTAL' });
    assert.equal(admin.data.origin, 'INSTALLER_PORTAL');
    const byDomain = await client(PKG).getPortalConfigByDomain({ domain: mine.data.domain });
    assert.equal(byDomain.data.id, mine.data.id);
  },
  'external links resolved for the customer, widgets and extensions': async ({ client, tokens, assert }) => {
    const links = await client(PKG, tokens.portal).getExternalLinks();
    const tariff = links.data.find((l) => l.type === 'link');
    assert.ok(tariff && !tariff.link.includes('{{'), JSON.stringify(tariff));
    const widgets = await client(PKG, tokens.portal).getPortalWidgets();
    assert.ok(widgets.data.widgets.length >= 1);
    const extensions = await client(PKG, tokens.org).getPortalExtensions({ origin: 'END_CUSTOMER_PORTAL' });
    assert.ok(extensions.data.some((e) => e.hooks && e.hooks.length));
  },
  'pages and blocks: an admin creates, a customer reads': async ({ client, tokens, assert }) => {
    const admin = client(PKG, tokens.org);
    const config = await admin.getPortalConfig({ origin: 'END_CUSTOMER_PORTAL' });
    const domain = config.data.domain;
    const page = await admin.createPortalPage({ domain }, { slug: 'sdk-page', order: 99, path: '/sdk-page',
      content: { title: { de: 'SDK' } } });
    assert.equal(page.status, 200);
    const block = await admin.createPortalPageBlock({ id: page.data.id }, { type: 'header', order: 1 });
    assert.equal(block.status, 200);
    const seen = await client(PKG, tokens.portal).getPortalPages({ domain });
    assert.ok(seen.data.some((p) => p.id === page.data.id));
    const blocks = await admin.getPortalPageBlocks({ id: page.data.id });
    assert.equal(blocks.data[0].id, block.data.id);
    await admin.deletePortalPage({ id: page.data.id });
  },
  'user exists without an origin': async ({ client, tokens, assert }) => {
    const user = await client(PKG, tokens.portal).getPortalUser();
    const res = await client(PKG).userExists({ email: user.data.data.email, org_id: tokens.org_id });
    assert.equal(res.data.exists, true);
  },
  'SSO: callback, then login with the ID token': async ({ client, tokens, assert }) => {
    const user = await client(PKG, tokens.portal).getPortalUser();
    const config = await client(PKG, tokens.portal).getPortalConfig();
    const provider = config.data.identity_providers[0];
    const exchanged = await client(PKG).ssoCallback({ domain: config.data.domain }, {
      provider_slug: provider.slug, token_endpoint: `${provider.oidc_config.oidc_issuer}/token`,
      grant_type: 'authorization_code', code: user.data.data.email, redirect_uri: `https://${config.data.domain}/login`,
      client_id: provider.oidc_config.client_id, code_verifier: 'verifier' });
    const login = await client(PKG, exchanged.data.id_token).ssoLogin(
      { origin: 'END_CUSTOMER_PORTAL', org_id: tokens.org_id }, { provider_slug: provider.slug });
    assert.equal(login.data.email, user.data.data.email);
    const again = await client(PKG, login.data.token).getPortalUser();
    assert.equal(again.data.data._id, user.data.data._id);
  },
  'revoke a refresh token': async ({ client, tokens, assert }) => {
    const res = await client(PKG, tokens.portal).revokeToken(null, { refresh_token: 'sdk-refresh-token' });
    assert.equal(res.data.message, 'Token revoked successfully');
  },
};
