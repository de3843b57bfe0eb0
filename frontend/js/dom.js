// Building markup safely: user and catalog text only ever becomes textContent.

/**
 * el("a", { href: "#/", class: "x", onclick: fn, dataset: { testid: "y" } }, "text", child)
 * Attributes that are null, undefined or false are left out; true sets an empty one.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}
