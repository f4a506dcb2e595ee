// Pricing API flows with @epilot/pricing-client. Extension point: add flows here (name -> async (ctx) => {}).
'use strict';

const PKG = '@epilot/pricing-client';

module.exports = {
  'compute a price': async ({ client, tokens, assert }) => {
    const api = client(PKG, tokens.org);
    const res = await api.$calculatePricingDetails(null, {
      line_items: [{
        price_id: 'grundpreis', quantity: 1,
        _price: { unit_amount: 2990, unit_amount_currency: 'EUR', unit_amount_decimal: '29.90', pricing_model: 'per_unit',
          is_tax_inclusive: true, type: 'recurring', billing_period: 'monthly', tax: [{ rate: 19, type: 'VAT' }] },
      }],
    });
    assert.equal(res.status, 200);
    assert.equal(res.data.amount_total, 2990);
    assert.equal(res.data.amount_tax, 477);
  },
  'search the catalog': async ({ client, tokens, assert }) => {
    const api = client(PKG, tokens.org);
    const res = await api.$searchCatalog(null, { q: '_schema:product', size: 3 });
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(res.data.results) && res.data.results.length >= 1);
  },
};
