// report.js: one report: metadata, provenance, the body in paragraphs,
// and for a writer an edit form and a delete button. An edit is a Put
// with expected_version = the version the form was opened on
// (compare-and-set): when someone else wrote in between, the server
// answers "aborted", and the page shows which fields they changed beside
// the edit, which is kept, to save again over their version or drop.

import { call, int } from "./api.js";
import { h, errorBox, announce } from "./dom.js";
import { TIER_ROWS, TIER_LABELS } from "./chart.js";
import { reportMeta } from "./search.js";
import { session } from "./app.js";

// The fields a person edits; the server sets version, created_*, updated_*.
const EDITABLE = [
    ["title", "Title"], ["publisher", "Publisher"], ["author", "Author"],
    ["publicationDate", "Publication date"], ["country", "Country"],
    ["countryCode", "Country code"], ["year", "Year"], ["tier", "Tier"],
    ["tierNote", "Tier note"], ["docType", "Document type"],
    ["sourceUrl", "Source URL"], ["body", "Body"],
];

function show(value) {
    if (Array.isArray(value)) {
        return value.join("\n\n");
    }
    return value === undefined || value === null ? "" : String(value);
}

function row(label, value) {
    return value ? [h("dt", {}, label), h("dd", {}, value)] : [];
}

function metadata(report) {
    return h("dl", { class: "fields" },
        row("Id", report.id),
        row("Document type", report.docType),
        row("Country", report.country &&
            `${report.country} (${report.countryCode || "?"})`),
        row("Year", report.year && String(report.year)),
        row("Tier", report.tier && (TIER_LABELS[report.tier] || report.tier)),
        row("Tier note", report.tierNote),
        row("Publisher", report.publisher),
        row("Author", report.author),
        row("Published", report.publicationDate),
        row("Last updated", report.lastUpdated),
        row("Cite as", report.citeAs));
}

function provenance(report) {
    return h("section", { class: "provenance", "aria-labelledby": "prov-h" },
        h("h2", { id: "prov-h" }, "Provenance"),
        h("dl", { class: "fields" },
            row("Source", report.sourceUrl && h("a", { href: report.sourceUrl,
                rel: "noopener noreferrer" }, report.sourceUrl)),
            row("SHA-256", report.sourceSha256 &&
                h("code", { class: "sha" }, report.sourceSha256)),
            row("Version", String(int(report.version))),
            row("Stored", `${report.createdAt || "?"} by ${
                report.createdBy || "?"}`),
            row("Changed", report.updatedAt &&
                `${report.updatedAt} by ${report.updatedBy || "?"}`)));
}

function bodyText(report) {
    const paragraphs = report.body || [];
    return h("section", { class: "body", "aria-labelledby": "body-h" },
        h("h2", { id: "body-h" }, "Report"),
        paragraphs.length ? paragraphs.map((p) => h("p", {}, p))
            : h("p", { class: "help" }, "This report has no body text."),
        report.disclaimer ? h("p", { class: "disclaimer" }, report.disclaimer)
            : null);
}

function formValue(form, key) {
    const value = form.elements[key].value;
    if (key === "year") {
        return value ? Number(value) : 0;
    }
    if (key === "body") {
        return value.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean);
    }
    return value.trim();
}

function editInput(key, label, report) {
    const id = "e-" + key;
    let input;
    if (key === "body") {
        input = h("textarea", { id, name: key, rows: 14 });
        input.value = show(report.body);
    } else if (key === "tier") {
        input = h("select", { id, name: key },
            h("option", { value: "TIER_UNSPECIFIED" }, "no tier"),
            TIER_ROWS.map((t) => h("option", { value: t,
                selected: report.tier === t }, TIER_LABELS[t])));
    } else {
        input = h("input", { id, name: key, type: key === "year" ? "number"
            : "text", value: show(report[key]) });
    }
    return h("div", { class: "field" + (key === "body" ? " wide" : "") },
        h("label", { for: id }, label), input);
}

// The fields whose stored value differs between two versions.
function changedFields(before, after) {
    return EDITABLE.filter(([key]) => show(before[key]) !== show(after[key]));
}

function conflictBox(base, current) {
    const changed = changedFields(base, current);
    return h("div", { class: "conflict", role: "alert", id: "conflict" },
        h("h2", {}, "Someone else changed this report"),
        h("p", {}, `You edited version ${int(base.version)}; it is now ` +
            `version ${int(current.version)}, changed by ` +
            `${current.updatedBy || "?"} at ${current.updatedAt || "?"}. ` +
            "Your edit is kept in the form. What they changed:"),
        changed.length ? h("table", { class: "diff" },
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Field"),
                h("th", { scope: "col" }, `Version ${int(base.version)}`),
                h("th", { scope: "col" }, `Version ${int(current.version)}`))),
            h("tbody", {}, changed.map(([key, label]) =>
                h("tr", { "data-field": key }, h("th", { scope: "row" }, label),
                    h("td", { class: "old" }, show(base[key])),
                    h("td", { class: "new" }, show(current[key]))))))
            : h("p", {}, "No field you can edit differs (only its version)."),
        h("p", {}, `Save again to replace version ${int(current.version)} ` +
            "with your edit, or reload the report to drop it."));
}

function editForm(report, onSaved) {
    let base = report; // the version the edit is made against
    const status = h("div", { class: "edit-status" });
    const form = h("form", { class: "edit", "aria-labelledby": "edit-h" },
        h("h2", { id: "edit-h" }, "Edit"),
        h("div", { class: "filter-grid" },
            EDITABLE.map(([key, label]) => editInput(key, label, report))),
        status,
        h("div", { class: "actions" },
            h("button", { type: "submit", id: "save" }, "Save"),
            h("button", { type: "button", onclick: () => onSaved(null) },
                "Cancel")));
    form.addEventListener("submit", async (e) => {
        e.preventDefault();
        const edited = { ...base };
        for (const [key] of EDITABLE) {
            edited[key] = formValue(form, key);
        }
        status.replaceChildren(h("p", {}, "Saving…"));
        try {
            const reply = await call("Put", { report: edited,
                expectedVersion: String(int(base.version)) });
            announce(`Saved as version ${int(reply.version)}`);
            onSaved(reply);
        } catch (err) {
            if (err.code !== "aborted") {
                status.replaceChildren(errorBox(err));
                return;
            }
            try {
                const current = await call("Get", { id: report.id });
                status.replaceChildren(conflictBox(base, current));
                base = current;
                form.querySelector("#save").textContent =
                    `Save over version ${int(current.version)}`;
            } catch (err2) {
                status.replaceChildren(errorBox(err2));
            }
        }
    });
    return form;
}

function deleteDialog(report) {
    const dialog = h("dialog", { id: "delete-dialog",
        "aria-labelledby": "del-h" },
    h("h2", { id: "del-h" }, "Delete this report?"),
    h("p", {}, `${report.title || report.id} (version ${
        int(report.version)}) will be removed. This cannot be undone here.`),
    h("div", { class: "dialog-status" }),
    h("form", { method: "dialog", class: "actions" },
        h("button", { value: "cancel", autofocus: true }, "Keep it"),
        h("button", { value: "delete", class: "danger", id: "confirm-delete" },
            "Delete")));
    dialog.addEventListener("close", async () => {
        if (dialog.returnValue !== "delete") {
            return;
        }
        try {
            await call("Delete", { id: report.id,
                expectedVersion: String(int(report.version)) });
            announce(`Deleted ${report.id}`);
            location.hash = "#/search?deleted=" + encodeURIComponent(report.id);
        } catch (err) {
            dialog.querySelector(".dialog-status").replaceChildren(
                errorBox(err));
            dialog.showModal();
        }
    });
    return dialog;
}

export async function reportView(id) {
    let report;
    try {
        report = await call("Get", { id });
    } catch (err) {
        return h("section", {}, h("h1", {}, id), errorBox(err));
    }
    session.shownIds.add(report.id);
    const section = h("article", { class: "report", "data-id": report.id,
        "data-version": int(report.version) });
    const render = () => {
        section.replaceChildren(
            h("h1", {}, report.title || report.id),
            reportMeta(report),
            session.canWrite ? h("div", { class: "actions write-controls" },
                h("button", { type: "button", id: "edit", onclick: () => {
                    const form = editForm(report, async (reply) => {
                        if (reply) {
                            report = await call("Get", { id });
                            section.dataset.version = int(report.version);
                        }
                        render();
                    });
                    section.querySelector(".view").replaceChildren(form);
                    form.querySelector("input, textarea").focus();
                } }, "Edit"),
                h("button", { type: "button", id: "delete", class: "danger",
                    onclick: () => section.querySelector("dialog").showModal() },
                "Delete")) : null,
            session.canWrite ? deleteDialog(report) : null,
            h("div", { class: "view" }, metadata(report), provenance(report),
                bodyText(report)));
    };
    render();
    return section;
}
