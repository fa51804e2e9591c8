// live.js: the gateway's change feed as server-sent events (GET /events).
// Read with fetch rather than EventSource so the request carries the
// caller's token in its Authorization header (EventSource sends no
// headers, and a token in the URL ends up in logs). Each event is
// "event: change" with the ChangeEvent as proto3 JSON in "data:".
// A dropped stream is opened again after a pause that doubles up to 30 s;
// a gateway without /events (404), or one that refuses the token (401,
// 403), is not asked again until the next sign-in. A reopened stream
// sends the last event's id (Last-Event-ID), so the gateway resumes
// after it, or says with "event: gap" that some were missed (it fell
// behind, or restarted): onGap then tells the reader.

import { authHeaders } from "./api.js";

let controller = null;

// Handles one event block; returns its id, or null when it has none.
function parseBlock(block, onChange, onGap) {
    let type = "message";
    let id = null;
    const data = [];
    for (const line of block.split("\n")) {
        if (line.startsWith("event:")) {
            type = line.slice(6).trim();
        } else if (line.startsWith("data:")) {
            data.push(line.slice(5).replace(/^ /, ""));
        } else if (line.startsWith("id:")) {
            id = line.slice(3).trim();
        }
    }
    if (type === "gap") {
        onGap();
        return id;
    }
    if (type !== "change" || data.length === 0) {
        return id;
    }
    try {
        onChange(JSON.parse(data.join("\n")));
    } catch (err) {
        // A malformed event is skipped; the stream goes on.
    }
    return id;
}

async function follow(signal, onChange, onGap) {
    let pause = 1000;
    let lastId = null;
    while (!signal.aborted) {
        let response;
        const resume = lastId === null ? {} : { "Last-Event-ID": lastId };
        try {
            response = await fetch("/events", {
                headers: {
                    Accept: "text/event-stream", ...resume, ...authHeaders(),
                },
                signal,
                cache: "no-store",
            });
        } catch (err) {
            response = null;
        }
        if (response && [401, 403, 404].includes(response.status)) {
            // No feed on this gateway, or not signed in (startLive runs
            // again after signing in): asking again would not help.
            document.body.dataset.live = "off";
            return;
        }
        if (response && response.ok && response.body) {
            document.body.dataset.live = "on";
            pause = 1000;
            const reader = response.body
                .pipeThrough(new TextDecoderStream()).getReader();
            let buffer = "";
            try {
                for (;;) {
                    const { value, done } = await reader.read();
                    if (done) {
                        break;
                    }
                    buffer += value.replace(/\r\n?/g, "\n");
                    let end;
                    while ((end = buffer.indexOf("\n\n")) >= 0) {
                        const id = parseBlock(buffer.slice(0, end),
                            onChange, onGap);
                        if (id !== null) {
                            lastId = id;
                        }
                        buffer = buffer.slice(end + 2);
                    }
                }
            } catch (err) {
                // The stream broke (or was aborted): reconnect below.
            }
        }
        document.body.dataset.live = "off";
        if (signal.aborted) {
            return;
        }
        await new Promise((resolve) => setTimeout(resolve, pause));
        pause = Math.min(pause * 2, 30000);
    }
}

// (Re)starts following the feed with the current token: onChange(event)
// for each change, onGap() when some changes may have gone unseen.
export function startLive(onChange, onGap) {
    if (controller) {
        controller.abort();
    }
    controller = new AbortController();
    follow(controller.signal, onChange, onGap);
}
