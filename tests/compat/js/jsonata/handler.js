function handle(input) {
  const exprs = [
    'Account.Order.Product.Price',
    '$sum(Account.Order.Product.(Price * Quantity))',
    'Account.Order[OrderID = "order104"].Product.SKU',
    'Account.Order.Product{ `Product Name`: $sum(Price) }',
    '$map(Account.Order, function($o) { $o.OrderID & ":" & $count($o.Product) })',
    '$uppercase(Account."Account Name") & " " & $string($round(3.14159, 2))',
    'Account.Order.Product^(>Price).`Product Name`',
    '$join($distinct(Account.Order.Product.Description.Colour), ",")',
  ];
  return Promise.all(exprs.map((e) => jsonata(e).evaluate(input))).then((results) =>
    results.map((r) => JSON.parse(JSON.stringify(r === undefined ? null : r)))
  );
}
