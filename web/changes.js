// changes.js: the year page: every country whose tier in that year
// differs from the year before (Changes), upgrades and downgrades.

import { call } from "./api.js";
import { h, errorBox } from "./dom.js";
import { TIER_LABELS } from "./chart.js";
import { session } from "./app.js";

const MOVES = {
    TIER_MOVE_UPGRADE: "up",
    TIER_MOVE_DOWNGRADE: "down",
    TIER_MOVE_OTHER: "other",
};

async function latestYear() {
    const stats = await call("Stats", {});
    const years = (stats.byYear || []).map((y) => y.year).filter(Boolean);
    return years.length ? Math.max(...years) : new Date().getFullYear();
}

export async function changesView(year) {
    const section = h("section", { class: "changes-page" });
    try {
        if (!year) {
            year = await latestYear();
        }
    } catch (err) {
        section.append(h("h1", {}, "Tier changes"), errorBox(err));
        return section;
    }
    const input = h("input", { id: "c-year", name: "year", type: "number",
        min: 1901, max: 2200, value: year });
    section.append(h("h1", {}, `Tier changes in ${year}`),
        h("form", { class: "year-form", onsubmit: (e) => {
            e.preventDefault();
            location.hash = "#/changes/" + Number(input.value);
        } },
        h("a", { href: `#/changes/${year - 1}`, rel: "prev" }, `← ${year - 1}`),
        h("label", { for: "c-year" }, "Year"), input,
        h("button", { type: "submit" }, "Show"),
        h("a", { href: `#/changes/${year + 1}`, rel: "next" }, `${year + 1} →`)));
    try {
        const reply = await call("Changes", { year });
        const changes = reply.changes || [];
        changes.forEach((c) => session.shownIds.add(c.reportId));
        section.append(changes.length ? h("div", { class: "table-scroll" },
            h("table", { class: "changes" },
            h("caption", {}, `${changes.length} countr${
                changes.length === 1 ? "y" : "ies"} changed tier from ${
                year - 1} to ${year} (Trafficking in Persons Report)`),
            h("thead", {}, h("tr", {},
                ["Country", `${year - 1}`, `${year}`, "Move", "Report"].map(
                    (t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, changes.map((c) => h("tr", {
                class: "move-" + (MOVES[c.move] || "other") },
            h("th", { scope: "row" }, h("a", { href: "#/country/" +
                encodeURIComponent(c.countryCode || c.country) }, c.country)),
            h("td", {}, TIER_LABELS[c.previous] || c.previous),
            h("td", {}, TIER_LABELS[c.current] || c.current),
            h("td", {}, MOVES[c.move] || "other"),
            h("td", {}, h("a", { href: "#/report/" +
                encodeURIComponent(c.reportId) }, c.reportId)))))))
            : h("p", {}, `No country changed tier from ${year - 1} to ${
                year}, or one of the two years has no reports.`));
    } catch (err) {
        section.append(errorBox(err));
    }
    return section;
}
