// How values are shown.

const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

export const price = (cents) => money.format(cents / 100);

export const label = (value) => value.replace("_", " ").replace(/^./, (c) => c.toUpperCase());

export function stockText(stock) {
  if (stock <= 0) return "Out of stock";
  if (stock <= 5) return `Only ${stock} left`;
  return "In stock";
}
