// chart.js: a country's tier by year as an SVG step chart.
//
// Our own SVG rather than a charting library: the chart is one step line
// over five fixed categories, with gaps, which a general library draws
// only through options (category axes, reversed order, null breaks) that
// cost more code to configure than this file, and a vendored copy of one
// (Chart.js is ~200 KB) would be most of the page's weight. Drawn as
// SVG, each point is a link to its report, reachable with Tab and named
// for a screen reader, and the chart scales with the page.

const SVG = "http://www.w3.org/2000/svg";

// Top to bottom: Tier 1 first. Special Case has no place in the order of
// tiers, so it is a band of its own under Tier 3.
export const TIER_ROWS = ["TIER_1", "TIER_2", "TIER_2_WATCH_LIST", "TIER_3",
    "SPECIAL_CASE"];
export const TIER_LABELS = {
    TIER_1: "Tier 1",
    TIER_2: "Tier 2",
    TIER_2_WATCH_LIST: "Tier 2 Watch List",
    TIER_3: "Tier 3",
    SPECIAL_CASE: "Special Case",
    TIER_UNSPECIFIED: "no tier",
};

function el(name, attrs = {}, text) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attrs)) {
        node.setAttribute(key, String(value));
    }
    if (text !== undefined) {
        node.textContent = text;
    }
    return node;
}

// entries: [{year, tier, reportId}] ascending by year (History's order);
// entries without a tier are left out. Returns the <svg> element.
export function tierChart(entries, countryName) {
    const points = entries.filter((e) => TIER_ROWS.includes(e.tier));
    const years = points.map((e) => e.year);
    const first = Math.min(...years);
    const last = Math.max(...years);
    const span = Math.max(last - first + 1, 1);
    const left = 150, top = 16, rowHeight = 40, colWidth = 44;
    const width = left + span * colWidth + 16;
    const height = top + TIER_ROWS.length * rowHeight + 40;
    const x = (year) => left + (year - first + 0.5) * colWidth;
    const y = (tier) => top + (TIER_ROWS.indexOf(tier) + 0.5) * rowHeight;

    const svg = el("svg", {
        viewBox: `0 0 ${width} ${height}`,
        class: "tier-chart",
        role: "group",
        "aria-labelledby": "tier-chart-title",
    });
    svg.append(el("title", { id: "tier-chart-title" },
        `Tier by year for ${countryName}, ${first} to ${last}`));

    for (const tier of TIER_ROWS) {
        svg.append(el("line", { x1: left, x2: width - 8, y1: y(tier),
            y2: y(tier), class: "grid" }));
        svg.append(el("text", { x: left - 10, y: y(tier) + 5,
            "text-anchor": "end", class: "axis" }, TIER_LABELS[tier]));
    }
    const labelEvery = span > 14 ? 2 : 1;
    for (let year = first; year <= last; year++) {
        if ((year - first) % labelEvery === 0) {
            svg.append(el("text", { x: x(year), y: height - 14,
                "text-anchor": "middle", class: "axis" }, String(year)));
        }
    }

    // The step line: a run of consecutive years is one path; a missing
    // year ends the run, leaving a gap.
    let path = "";
    points.forEach((point, i) => {
        const previous = points[i - 1];
        const half = colWidth / 2;
        if (previous && previous.year === point.year - 1) {
            path += ` H ${x(point.year) - half} V ${y(point.tier)}` +
                ` H ${x(point.year)}`;
        } else {
            path += ` M ${x(point.year) - half} ${y(point.tier)}` +
                ` H ${x(point.year)}`;
        }
        const next = points[i + 1];
        if (!next || next.year !== point.year + 1) {
            path += ` H ${x(point.year) + half}`;
        }
    });
    svg.append(el("path", { d: path.trim(), class: "step" }));

    for (const point of points) {
        const label = `${point.year}: ${TIER_LABELS[point.tier]}`;
        const link = el("a", { href: "#/report/" +
            encodeURIComponent(point.reportId), class: "point",
            "data-year": point.year, "data-tier": point.tier,
            "aria-label": label });
        link.append(el("title", {}, label));
        link.append(el("circle", { cx: x(point.year), cy: y(point.tier),
            r: 7 }));
        svg.append(link);
    }
    return svg;
}
