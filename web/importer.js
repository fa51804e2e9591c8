// importer.js: import for writers. Files dropped on the page (or chosen
// with the file button, for keyboards) are sent one ImportText call each,
// their bytes unchanged in `content` (the server reads the encodings real
// files have), a few at a time; each gets a row with its outcome or the
// reason it failed, and a progress bar counts the files done.

import { call } from "./api.js";
import { h, errorBox, announce } from "./dom.js";
import { session } from "./app.js";

const IN_FLIGHT = 4;
const OUTCOMES = {
    IMPORT_OUTCOME_CREATED: "created",
    IMPORT_OUTCOME_UPDATED: "updated",
    IMPORT_OUTCOME_UNCHANGED: "unchanged",
    IMPORT_OUTCOME_PARSED: "parsed",
};

function base64(bytes) {
    let text = "";
    const chunk = 0x8000;
    for (let i = 0; i < bytes.length; i += chunk) {
        text += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
    }
    return btoa(text);
}

async function importOne(file) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const reply = await call("ImportText", { content: base64(bytes),
        filename: file.name });
    return reply;
}

async function importAll(files, progress, tbody, summary) {
    const counts = {};
    let done = 0;
    let next = 0;
    progress.max = files.length;
    progress.value = 0;
    const rows = files.map((file) => {
        const status = h("td", { class: "outcome" }, "waiting");
        const idCell = h("td", {});
        const row = h("tr", { "data-file": file.name },
            h("th", { scope: "row" }, file.name), status, idCell);
        tbody.append(row);
        return { file, row, status, idCell };
    });
    async function worker() {
        while (next < rows.length) {
            const item = rows[next++];
            item.status.textContent = "sending";
            let outcome;
            try {
                const reply = await importOne(item.file);
                outcome = OUTCOMES[reply.outcome] || "done";
                item.status.textContent = outcome;
                if ((reply.warnings || []).length) {
                    item.status.append(h("ul", { class: "warnings" },
                        reply.warnings.map((w) => h("li", {}, w))));
                }
                item.idCell.append(h("a", { href: "#/report/" +
                    encodeURIComponent(reply.id) }, reply.id));
            } catch (err) {
                outcome = "failed";
                item.status.textContent = `failed: ${err.message}`;
            }
            item.row.dataset.outcome = outcome;
            item.row.className = "outcome-" + outcome;
            counts[outcome] = (counts[outcome] || 0) + 1;
            done++;
            progress.value = done;
            progress.textContent = `${done} of ${files.length}`;
            summary.textContent = `${done} of ${files.length} files: ` +
                Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ");
        }
    }
    const workers = [];
    for (let i = 0; i < Math.min(IN_FLIGHT, rows.length); i++) {
        workers.push(worker());
    }
    await Promise.all(workers);
    announce(summary.textContent);
}

export async function importView() {
    const section = h("section", { class: "import-page" },
        h("h1", {}, "Import reports"));
    if (!session.canWrite) {
        section.append(errorBox({ message: "Importing needs a writer's " +
            "token: sign in with one above." }));
        return section;
    }
    const input = h("input", { id: "files", type: "file", multiple: true,
        accept: ".txt,text/plain", class: "visually-hidden" });
    const zone = h("label", { for: "files", class: "dropzone", tabindex: 0,
        id: "dropzone" },
    h("strong", {}, "Drop Refworld .txt files here"),
    h("span", {}, " or press Enter to choose them"));
    const progress = h("progress", { id: "import-progress", value: 0, max: 1,
        "aria-label": "Files imported" });
    const summary = h("p", { id: "import-summary", role: "status" });
    const tbody = h("tbody", {});
    const table = h("table", { class: "import-results" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "File"),
            h("th", { scope: "col" }, "Result"),
            h("th", { scope: "col" }, "Report"))), tbody);
    const start = (fileList) => {
        const files = [...fileList].filter((f) => f.size > 0 || f.name);
        if (!files.length) {
            return;
        }
        tbody.replaceChildren();
        importAll(files, progress, tbody, summary).catch((err) =>
            summary.replaceChildren(errorBox(err)));
    };
    input.addEventListener("change", () => start(input.files));
    zone.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            input.click();
        }
    });
    zone.addEventListener("dragover", (e) => {
        e.preventDefault();
        zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
        e.preventDefault();
        zone.classList.remove("over");
        start(e.dataTransfer.files);
    });
    section.append(h("p", {}, "Each file is parsed by the server; the same " +
        "document imported again is left unchanged, a newer copy updates " +
        "its report."), input, zone, progress, summary, table);
    return section;
}
