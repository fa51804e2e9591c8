// search.js: the search page. The form's state is the URL's
// (#/search?q=&country=&from=&to=&tier=&publisher=&type=&order=&page=), so a
// search is a link; a query uses Search (ranked, with snippets and facet
// counts), no query but filters uses List (every matching report by id).

import { call, int } from "./api.js";
import { h, snippet, errorBox, announce } from "./dom.js";
import { COUNTRIES } from "./countries.js";
import { TIER_ROWS, TIER_LABELS } from "./chart.js";
import { session } from "./app.js";

const PAGE_SIZE = 10;
const FIELDS = ["q", "country", "from", "to", "tier", "publisher", "type",
    "order"];
// The filters among FIELDS (the form's Filters section opens when one is
// set).
const FILTERS = ["country", "from", "to", "tier", "publisher", "type"];
// Completion for the document type: the series the importer recognizes
// (common/refworld_fields.c); any other type typed is searched as well.
const DOC_TYPES = [
    "Trafficking in Persons Report",
    "Country Reports on Human Rights Practices",
    "International Religious Freedom Report",
    "Freedom in the World", "Freedom of the Press", "Freedom on the Net",
    "Nations in Transit", "World Report", "Amnesty International Report",
    "UNHCR Eligibility Guidelines", "UNHCR Position Paper",
    "UNHCR Global Appeal", "UNHCR Global Report",
    "Child Soldiers Global Report", "Attacks on the Press",
    "World Directory of Minorities and Indigenous Peoples",
    "State of the World's Minorities and Indigenous Peoples",
];
const ORDERS = {
    relevance: "SEARCH_ORDER_RELEVANCE",
    year: "SEARCH_ORDER_YEAR",
    date: "SEARCH_ORDER_PUBLICATION_DATE",
};
const COUNTRY_NAMES = new Map(COUNTRIES);
// Page tokens met so far, by request: page N+1 of a search reached by
// "Next" needs no walk from page 1. Opaque, as PROTOCOL.md asks.
const tokenCache = new Map();

export function searchHref(params) {
    const clean = new URLSearchParams();
    for (const key of [...FIELDS, "page"]) {
        const value = params.get(key);
        if (value && !(key === "page" && value === "1")) {
            clean.set(key, value);
        }
    }
    const text = clean.toString();
    return "#/search" + (text ? "?" + text : "");
}

function withParam(params, key, value) {
    const next = new URLSearchParams(params);
    next.delete("page");
    if (value === "" || value === null) {
        next.delete(key);
    } else {
        next.set(key, value);
    }
    return searchHref(next);
}

function filterOf(params) {
    const filter = {};
    const country = params.get("country");
    if (country) {
        filter.country = country;
    }
    if (params.get("from")) {
        filter.yearMin = Number(params.get("from"));
    }
    if (params.get("to")) {
        filter.yearMax = Number(params.get("to"));
    }
    if (params.get("tier")) {
        filter.tier = params.get("tier");
    }
    if (params.get("publisher")) {
        filter.publisher = params.get("publisher");
    }
    if (params.get("type")) {
        filter.docType = params.get("type");
    }
    return filter;
}

function field(id, label, input) {
    return h("div", { class: "field" }, h("label", { for: id }, label), input);
}

function searchForm(params) {
    const tierSelect = h("select", { id: "f-tier", name: "tier" },
        h("option", { value: "" }, "any tier"),
        TIER_ROWS.map((t) => h("option", { value: t,
            selected: params.get("tier") === t }, TIER_LABELS[t])));
    const orderSelect = h("select", { id: "f-order", name: "order" },
        Object.keys(ORDERS).map((key) => h("option", { value: key,
            selected: (params.get("order") || "relevance") === key },
        { relevance: "relevance", year: "newest year",
            date: "newest publication" }[key])));
    const datalist = h("datalist", { id: "countries" },
        COUNTRIES.map(([code, name]) => h("option", { value: name }, code)));
    const form = h("form", { class: "search", role: "search",
        onsubmit: (e) => {
            e.preventDefault();
            const data = new FormData(form);
            const next = new URLSearchParams();
            for (const key of FIELDS) {
                const value = String(data.get(key) || "").trim();
                if (value) {
                    next.set(key, value);
                }
            }
            location.hash = searchHref(next);
        } },
    h("div", { class: "query" },
        h("label", { for: "f-q", class: "visually-hidden" }, "Search terms"),
        h("input", { id: "f-q", name: "q", type: "search",
            value: params.get("q") || "", "aria-describedby": "q-help",
            placeholder: 'forced labor "debt bondage" -sweden' }),
        h("button", { type: "submit" }, "Search")),
    h("p", { id: "q-help", class: "help" },
        'Every word must match; "quoted words" in that order; ' +
        "-word leaves out reports that have it."),
    h("details", { class: "filters", open: FILTERS.some(
        (k) => params.get(k)) },
    h("summary", {}, "Filters"),
    h("div", { class: "filter-grid" },
        field("f-country", "Country", h("input", { id: "f-country",
            name: "country", list: "countries", autocomplete: "off",
            value: params.get("country") || "" })),
        datalist,
        field("f-from", "From year", h("input", { id: "f-from", name: "from",
            type: "number", min: 1900, max: 2200,
            value: params.get("from") || "" })),
        field("f-to", "To year", h("input", { id: "f-to", name: "to",
            type: "number", min: 1900, max: 2200,
            value: params.get("to") || "" })),
        field("f-tier", "Tier", tierSelect),
        field("f-publisher", "Publisher", h("input", { id: "f-publisher",
            name: "publisher", value: params.get("publisher") || "" })),
        field("f-type", "Document type", h("input", { id: "f-type",
            name: "type", list: "doc-types", autocomplete: "off",
            value: params.get("type") || "" })),
        h("datalist", { id: "doc-types" },
            DOC_TYPES.map((t) => h("option", { value: t }))),
        field("f-order", "Sort by", orderSelect))));
    return form;
}

function facetLabel(field, value) {
    if (field === "tier") {
        return TIER_LABELS[value] || value;
    }
    if (field === "country") {
        return COUNTRY_NAMES.get(value) || value;
    }
    return value;
}

function facetHref(params, field, value) {
    if (field === "year") {
        const next = new URLSearchParams(params);
        next.set("from", value);
        next.set("to", value);
        next.delete("page");
        return searchHref(next);
    }
    return withParam(params, field === "doc_type" ? "type" : field, value);
}

function facetList(params, facets) {
    const titles = { year: "Year", tier: "Tier", country: "Country",
        publisher: "Publisher", doc_type: "Document type" };
    return h("aside", { class: "facets", "aria-label": "Refine" },
        facets.filter((f) => (f.counts || []).length).map((facet) =>
            h("section", { class: "facet", "data-field": facet.field },
                h("h2", {}, titles[facet.field] || facet.field),
                h("ul", {}, facet.counts.slice(0, 12).map((c) =>
                    h("li", {}, h("a", {
                        href: facetHref(params, facet.field, c.value),
                        class: "facet-value", "data-value": c.value },
                    facetLabel(facet.field, c.value),
                    h("span", { class: "count" }, ` (${int(c.count)})`))))))));
}

export function reportMeta(report) {
    const parts = [];
    if (report.country) {
        parts.push(h("a", { href: "#/country/" + encodeURIComponent(
            report.countryCode || report.country) }, report.country));
    }
    if (report.year) {
        parts.push(h("a", { href: "#/changes/" + report.year },
            String(report.year)));
    }
    if (report.tier && report.tier !== "TIER_UNSPECIFIED") {
        parts.push(h("span", { class: "tier tier-" + report.tier },
            TIER_LABELS[report.tier] || report.tier));
    }
    if (report.publisher) {
        parts.push(report.publisher);
    }
    const meta = h("p", { class: "meta" });
    parts.forEach((part, i) => {
        if (i) {
            meta.append(" · ");
        }
        meta.append(part);
    });
    return meta;
}

function hitItem(report, snippetText) {
    session.shownIds.add(report.id);
    return h("li", { class: "hit", "data-id": report.id },
        h("h3", {}, h("a", { href: "#/report/" + encodeURIComponent(report.id) },
            report.title || report.id)),
        reportMeta(report),
        snippetText ? snippet(snippetText) : null);
}

function activeFilters(params) {
    const chips = [];
    for (const key of FILTERS) {
        const value = params.get(key);
        if (value) {
            const label = { country: "country", from: "from", to: "to",
                tier: "tier", publisher: "publisher",
                type: "document type" }[key];
            chips.push(h("li", {}, h("a", { href: withParam(params, key, ""),
                class: "chip", "aria-label": `Remove filter ${label} ${value}` },
            `${label}: ${key === "tier" ? TIER_LABELS[value] || value
                : value} ✕`)));
        }
    }
    return chips.length ? h("ul", { class: "chips" }, chips) : null;
}

// Finds the page token of page `page` (1-based), walking from page 1 when
// it is not cached. Returns "" for page 1.
async function tokenFor(method, request, key, page) {
    const tokens = tokenCache.get(key) || [""];
    tokenCache.set(key, tokens);
    while (tokens.length < page) {
        const walk = { ...request, pageToken: tokens[tokens.length - 1] };
        delete walk.facets;
        const reply = await call(method, walk);
        if (!reply.nextPageToken) {
            break;
        }
        tokens.push(reply.nextPageToken);
    }
    return tokens[Math.min(page, tokens.length) - 1];
}

function pager(params, page, hasNext, shown) {
    const prev = new URLSearchParams(params);
    prev.set("page", String(page - 1));
    const next = new URLSearchParams(params);
    next.set("page", String(page + 1));
    return h("nav", { class: "pager", "aria-label": "Pages" },
        page > 1 ? h("a", { href: searchHref(prev), rel: "prev" }, "← Previous")
            : null,
        h("span", {}, `Page ${page}`),
        hasNext && shown ? h("a", { href: searchHref(next), rel: "next" },
            "Next →") : null);
}

export async function searchView(params) {
    const query = (params.get("q") || "").trim();
    const page = Math.max(1, Number(params.get("page")) || 1);
    const filter = filterOf(params);
    const section = h("section", { class: "search-page" },
        h("h1", {}, query ? `Search: ${query}` : "Search the reports"),
        searchForm(params));
    const results = h("div", { class: "results", "aria-live": "polite" });
    if (params.get("deleted")) {
        section.append(h("p", { class: "notice", role: "status" },
            `Report ${params.get("deleted")} was deleted.`));
    }
    section.append(results);
    try {
        if (query) {
            const request = { query, filter, pageSize: PAGE_SIZE,
                order: ORDERS[params.get("order")] || ORDERS.relevance,
                facets: true };
            const key = JSON.stringify(request);
            request.pageToken = await tokenFor("Search", request, key, page);
            const reply = await call("Search", request);
            const tokens = tokenCache.get(key);
            if (reply.nextPageToken && tokens.length === page) {
                tokens.push(reply.nextPageToken);
            }
            const hits = reply.hits || [];
            const total = int(reply.totalHits);
            results.append(
                h("p", { class: "total", id: "total" },
                    `${total} report${total === 1 ? "" : "s"} found`),
                activeFilters(params) || "",
                h("div", { class: "result-grid" },
                    facetList(params, reply.facets || []),
                    h("div", {},
                        hits.length ? h("ol", { class: "hits",
                            start: (page - 1) * PAGE_SIZE + 1 },
                        hits.map((hit) => hitItem(hit.report, hit.snippet)))
                            : h("p", {}, "Nothing matches."),
                        pager(params, page, !!reply.nextPageToken,
                            hits.length))));
            announce(`${total} reports found`);
        } else {
            const request = { filter, pageSize: PAGE_SIZE };
            const key = "list" + JSON.stringify(request);
            request.pageToken = await tokenFor("List", request, key, page);
            const reply = await call("List", request);
            const tokens = tokenCache.get(key);
            if (reply.nextPageToken && tokens.length === page) {
                tokens.push(reply.nextPageToken);
            }
            const reports = reply.reports || [];
            results.append(
                h("p", { class: "total" }, Object.keys(filter).length
                    ? "Every report that matches the filters, by id:"
                    : "Every report, by id. Type words above to search."),
                activeFilters(params) || "",
                reports.length ? h("ol", { class: "hits",
                    start: (page - 1) * PAGE_SIZE + 1 },
                reports.map((r) => hitItem(r, ""))) : h("p", {},
                    "No report matches."),
                pager(params, page, !!reply.nextPageToken, reports.length));
        }
    } catch (err) {
        results.append(errorBox(err));
    }
    return section;
}
