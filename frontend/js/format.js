// How values are shown.

const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
const dates = new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeStyle: "short" });

export const price = (cents) => money.format(cents / 100);

export const label = (value) => value.replace("_", " ").replace(/^./, (c) => c.toUpperCase());

export const when = (iso) => dates.format(new Date(iso));

export function stockText(stock) {
  if (stock <= 0) return "Out of stock";
  if (stock <= 5) return `Only ${stock} left`;
  return "In stock";
}
