// dom.js: building elements without innerHTML, so text from a report is
// never read as markup.

// h("a", {href: "#/"}, "text", childNode): attributes starting with "on"
// are listeners; false, null and undefined attributes are left out.
export function h(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
        if (value === false || value === null || value === undefined) {
            continue;
        }
        if (key.startsWith("on")) {
            node.addEventListener(key.slice(2), value);
        } else if (value === true) {
            node.setAttribute(key, "");
        } else {
            node.setAttribute(key, String(value));
        }
    }
    for (const child of children.flat()) {
        if (child === null || child === undefined || child === false) {
            continue;
        }
        node.append(child instanceof Node ? child : String(child));
    }
    return node;
}

// A search snippet holds the matched terms between "[" and "]": those
// become <mark>, the rest stays text.
export function snippet(text) {
    const out = h("p", { class: "snippet" });
    const parts = String(text || "").split(/(\[[^\[\]]*\])/);
    for (const part of parts) {
        if (part.length > 2 && part.startsWith("[") && part.endsWith("]")) {
            out.append(h("mark", {}, part.slice(1, -1)));
        } else if (part) {
            out.append(part);
        }
    }
    return out;
}

// Says something to screen readers (the page's polite live region).
export function announce(message) {
    const region = document.getElementById("announce");
    region.textContent = "";
    region.textContent = message;
}

export function errorBox(err) {
    return h("p", { class: "error", role: "alert" },
        err.code ? `${err.message} (${err.code})` : String(err.message || err));
}
