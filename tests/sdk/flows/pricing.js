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
  'an error is the published Error with a message': async ({ client, tokens, failure, assert }) => {
    const api = client(PKG, tokens.org);
    const res = await failure(api.$calculatePricingDetails(null, {
      line_items: [{ quantity: 1, _price: { unit_amount_decimal: 'ten', pricing_model: 'per_unit' } }],
    }));
    assert.equal(res.status, 400);
    assert.equal(typeof res.data.message, 'string');
    assert.match(res.data.message, /not a decimal amount/);
  },
  'check a cart out and update the order': async ({ client, tokens, assert }) => {
    const anonymous = client(PKG);
    const cart = {
      line_items: [{ quantity: 2, _price: { unit_amount_decimal: '10', pricing_model: 'per_unit',
        is_tax_inclusive: false, type: 'one_time', tax: [{ rate: 19, type: 'VAT' }] } }],
      source_id: 'sdk-journey',
    };
    const checkout = await anonymous.$checkoutCart({ 'X-Ivy-Org-ID': tokens.org_id || '739224' }, { cart });
    assert.equal(checkout.status, 200);
    const order = checkout.data.order;
    assert.equal(order.amount_total, 2380);
    assert.equal(order.source_id, 'sdk-journey');
    assert.ok(order.cart_id);
    const api = client(PKG, tokens.org);
    const updated = await api.putOrder({ id: order._id }, { status: 'placed', line_items: cart.line_items });
    assert.equal(updated.status, 200);
    assert.equal(updated.data.amount_total, 2380);
    assert.equal(updated.data.status, 'placed');
  },
};
