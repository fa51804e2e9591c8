// app.js: the page's frame. Reads the route from the URL's fragment
// (#/search?q=..., #/report/ID, #/country/AZE, #/changes/2008, #/import),
// so every view is a link that can be shared, keeps the caller's identity
// (WhoAmI: its role decides whether write controls are shown at all), and
// hands change events from the gateway to the view on screen.

import { call, getToken, setToken } from "./api.js";
import { h, errorBox } from "./dom.js";
import { startLive } from "./live.js";
import { searchView } from "./search.js";
import { reportView } from "./report.js";
import { countryView } from "./country.js";
import { changesView } from "./changes.js";
import { importView } from "./importer.js";

// What the views share: who is calling, and what the screen shows (so a
// change event about it can be announced).
export const session = {
    name: "",
    role: "",
    canWrite: false,
    // Filled by each view: ids of reports on screen, and country codes.
    shownIds: new Set(),
    shownCountries: new Set(),
};

const routes = [
    [/^#\/report\/(.+)$/, (m) => reportView(decodeURIComponent(m[1]))],
    [/^#\/country\/([^/?]+)$/, (m) => countryView(decodeURIComponent(m[1]))],
    [/^#\/changes(?:\/(\d+))?$/, (m) => changesView(m[1] ? Number(m[1]) : 0)],
    [/^#\/import$/, () => importView()],
    [/^#\/(?:search)?(?:\?(.*))?$/, (m) => searchView(
        new URLSearchParams(m[1] || ""))],
];

let renderCount = 0;

async function render() {
    const main = document.getElementById("main");
    const hash = location.hash || "#/";
    const mine = ++renderCount;
    session.shownIds.clear();
    session.shownCountries.clear();
    hideLiveNotice();
    for (const [pattern, view] of routes) {
        const match = hash.match(pattern);
        if (!match) {
            continue;
        }
        let content;
        try {
            content = await view(match);
        } catch (err) {
            content = h("section", {}, h("h1", {}, "Something went wrong"),
                errorBox(err));
        }
        if (mine !== renderCount) {
            return; // a later navigation won
        }
        main.replaceChildren(content);
        main.dataset.route = hash; // what is shown (the tests wait on it)
        const heading = main.querySelector("h1");
        document.title = heading ? heading.textContent + " · Dossier"
            : "Dossier";
        return;
    }
    main.replaceChildren(h("section", {}, h("h1", {}, "Not found"),
        h("p", {}, "No page at this address. ", h("a", { href: "#/" },
            "Search the reports"))));
    main.dataset.route = hash;
}

// Moves focus to the new view's heading after a navigation, so a screen
// reader reads where it landed (not on the first load).
async function navigate() {
    await render();
    const heading = document.querySelector("main h1");
    if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus({ preventScroll: false });
    }
}

async function identify() {
    const who = document.getElementById("whoami");
    const logout = document.getElementById("logout");
    logout.hidden = !getToken();
    try {
        const me = await call("WhoAmI", {});
        session.name = me.name || "";
        session.role = me.role || "";
        who.textContent = `${session.name} (${session.role})`;
        who.classList.remove("error");
    } catch (err) {
        session.name = "";
        session.role = "";
        who.textContent = err.code === "unauthenticated"
            ? (getToken() ? "token refused" : "not signed in")
            : err.message;
        who.classList.add("error");
    }
    session.canWrite = session.role === "writer" || session.role === "admin";
    document.getElementById("nav-import").hidden = !session.canWrite;
}

function hideLiveNotice() {
    const live = document.getElementById("live");
    live.hidden = true;
    live.replaceChildren();
}

// A change event (proto3 JSON of ChangeEvent) about something on screen
// puts a notice above the view, with a link to show the new state.
function onChange(event) {
    const aboutShown = session.shownIds.has(event.id) ||
        (event.countryCode && session.shownCountries.has(event.countryCode));
    if (!aboutShown) {
        return;
    }
    const verb = event.operation === "CHANGE_OPERATION_DELETE"
        ? "deleted" : "changed";
    const live = document.getElementById("live");
    live.replaceChildren(
        h("span", {}, `Report ${event.id} was ${verb} by ` +
            `${event.user || "someone"} (version ${event.version || "?"}). `),
        h("button", { type: "button", class: "link", onclick: () => render() },
            "Show the current state"));
    live.dataset.reportId = event.id;
    live.hidden = false;
}

// The live stream missed some changes (the page lost the gateway for a
// while, or the gateway restarted): what is shown may be out of date.
function onGap() {
    const live = document.getElementById("live");
    live.replaceChildren(
        h("span", {}, "The page lost contact with the server for a while; " +
            "changes made meanwhile may not show here. "),
        h("button", { type: "button", class: "link", onclick: () => render() },
            "Show the current state"));
    delete live.dataset.reportId;
    live.hidden = false;
}

async function start() {
    const form = document.getElementById("login");
    form.addEventListener("submit", async (e) => {
        e.preventDefault();
        const input = document.getElementById("token");
        setToken(input.value.trim());
        input.value = "";
        await identify();
        await render();
        startLive(onChange, onGap);
    });
    document.getElementById("logout").addEventListener("click", async () => {
        setToken("");
        await identify();
        await render();
        startLive(onChange, onGap);
    });
    window.addEventListener("hashchange", navigate);
    await identify();
    await render();
    startLive(onChange, onGap);
    document.body.dataset.ready = "true";
}

start();
