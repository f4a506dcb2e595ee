// Entity API flows with @epilot/entity-client. Extension point: add flows here (name -> async (ctx) => {}).
'use strict';

const PKG = '@epilot/entity-client';

module.exports = {
  'search, then get an entity': async ({ client, tokens, assert }) => {
    const api = client(PKG, tokens.org);
    const found = await api.searchEntities(null, { q: '_schema:contact', size: 2 });
    assert.equal(found.status, 200);
    assert.ok(found.data.hits >= 1 && found.data.results.length >= 1);
    const contact = found.data.results[0];
    const got = await api.getEntity({ slug: 'contact', id: contact._id });
    assert.equal(got.data.entity._id, contact._id);
  },
  'create an entity and find it': async ({ client, tokens, assert }) => {
    const api = client(PKG, tokens.org);
    const made = await api.createEntity({ slug: 'contact' }, { first_name: 'Ada', last_name: 'SDK-Test' });
    assert.ok([200, 201].includes(made.status));
    const id = (made.data.entity || made.data)._id;
    const got = await api.getEntity({ slug: 'contact', id });
    assert.equal(got.data.entity.last_name, 'SDK-Test');
  },
  'unknown entity: 404 in the error shape': async ({ client, tokens, failure, assert }) => {
    const api = client(PKG, tokens.org);
    const res = await failure(api.getEntity({ slug: 'contact', id: '00000000-0000-4000-8000-000000000000' }));
    assert.equal(res.status, 404);
    assert.equal(typeof res.data, 'object');
  },
};
