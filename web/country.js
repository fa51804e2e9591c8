// country.js: a country's page: the tier by year of the Trafficking in
// Persons series (History) as a step chart, and every report of the
// country under it (List).

import { call } from "./api.js";
import { h, errorBox } from "./dom.js";
import { tierChart, TIER_LABELS } from "./chart.js";
import { reportMeta } from "./search.js";
import { session } from "./app.js";
import { COUNTRIES } from "./countries.js";

const NAMES = new Map(COUNTRIES);

async function allReports(country) {
    const reports = [];
    let pageToken = "";
    // Bounded: a country has one report a year per series.
    for (let pages = 0; pages < 20; pages++) {
        const reply = await call("List", { filter: { country }, pageSize: 200,
            pageToken });
        reports.push(...(reply.reports || []));
        pageToken = reply.nextPageToken || "";
        if (!pageToken) {
            break;
        }
    }
    return reports;
}

export async function countryView(country) {
    const section = h("section", { class: "country-page" });
    let history = null;
    let historyError = null;
    try {
        history = await call("History", { country });
    } catch (err) {
        historyError = err;
    }
    const name = (history && history.country) || NAMES.get(country) || country;
    const code = (history && history.countryCode) || country;
    session.shownCountries.add(code);
    section.append(h("h1", {}, name));

    const figure = h("figure", { class: "chart" });
    if (history && (history.entries || []).length) {
        const entries = history.entries.map((e) => ({ year: e.year,
            tier: e.tier, reportId: e.reportId }));
        figure.append(tierChart(entries, name),
            h("figcaption", {}, "Tier by year, Trafficking in Persons " +
                "Report. A gap is a year without a report; each point " +
                "links to its report."));
        // The same data as a table, for screen readers and for copying.
        figure.append(h("details", {}, h("summary", {}, "As a table"),
            h("table", { class: "history" },
                h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Year"),
                    h("th", { scope: "col" }, "Tier"),
                    h("th", { scope: "col" }, "Note"))),
                h("tbody", {}, history.entries.map((e) => h("tr", {},
                    h("td", {}, h("a", { href: "#/report/" +
                        encodeURIComponent(e.reportId) }, String(e.year))),
                    h("td", {}, TIER_LABELS[e.tier] || "no tier"),
                    h("td", {}, e.tierNote || "")))))));
    } else if (historyError && historyError.code !== "not_found") {
        figure.append(errorBox(historyError));
    } else {
        figure.append(h("p", { class: "help" },
            "No Trafficking in Persons Report of this country is stored, " +
            "so there is no tier history to draw."));
    }
    section.append(figure);

    try {
        const reports = await allReports(code);
        reports.sort((a, b) => (b.year || 0) - (a.year || 0) ||
            a.id.localeCompare(b.id));
        reports.forEach((r) => session.shownIds.add(r.id));
        section.append(h("h2", {}, `Reports (${reports.length})`),
            h("ul", { class: "hits" }, reports.map((r) => h("li", {
                class: "hit", "data-id": r.id },
            h("h3", {}, h("a", { href: "#/report/" + encodeURIComponent(r.id) },
                r.title || r.id)),
            reportMeta(r)))));
    } catch (err) {
        section.append(errorBox(err));
    }
    return section;
}
