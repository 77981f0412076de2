// POST /run/order {"items": [{"sku": "A1", "price": 2.5, "qty": 2}, ...]}
//   -> {"lines": 1, "units": 2, "total": 5}
// A quantity that is not a positive whole number is the client's mistake: the handler throws, and the server
// answers 422 with the message.
function handle(request) {
  const items = (request && request.items) || [];
  let units = 0;
  let cents = 0;
  for (const item of items) {
    if (!Number.isInteger(item.qty) || item.qty <= 0) {
      throw new Error(`invalid quantity for ${item.sku}: ${item.qty}`);
    }
    units += item.qty;
    cents += Math.round(item.price * 100) * item.qty;
  }
  return { lines: items.length, units, total: cents / 100 };
}
