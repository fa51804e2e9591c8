// api.js: the Connect protocol, unary JSON, as dossier-gateway serves it.
// Every call is POST /dossier.v1.Reports/<Method> with a proto3 JSON body;
// an error comes back as {"code": "not_found", "message": ...} with
// Connect's HTTP status. The caller's token (the login field) is kept in
// sessionStorage, so it lasts as long as the tab and no longer.

const SERVICE = "/dossier.v1.Reports/";
const TOKEN_KEY = "dossier.token";
const TIMEOUT_MS = 30000;

export class ConnectError extends Error {
    constructor(code, message, httpStatus) {
        super(message || code);
        this.code = code;
        this.httpStatus = httpStatus;
    }
}

export function getToken() {
    return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(token) {
    if (token) {
        sessionStorage.setItem(TOKEN_KEY, token);
    } else {
        sessionStorage.removeItem(TOKEN_KEY);
    }
}

export function authHeaders() {
    const token = getToken();
    return token ? { Authorization: "Bearer " + token } : {};
}

// Calls one method; resolves to the decoded reply, rejects with a
// ConnectError (code "unavailable" when the gateway did not answer).
export async function call(method, request = {}, timeoutMs = TIMEOUT_MS) {
    let response;
    try {
        response = await fetch(SERVICE + method, {
            method: "POST",
            headers: {
                "Content-Type": "application/json",
                "Connect-Protocol-Version": "1",
                "Connect-Timeout-Ms": String(timeoutMs),
                ...authHeaders(),
            },
            body: JSON.stringify(request),
            signal: AbortSignal.timeout(timeoutMs + 1000),
        });
    } catch (err) {
        throw new ConnectError("unavailable",
            "the gateway did not answer (" + err.message + ")", 0);
    }
    const text = await response.text();
    let body = {};
    if (text) {
        try {
            body = JSON.parse(text);
        } catch (err) {
            throw new ConnectError("internal",
                "the gateway answered HTTP " + response.status +
                " with a body that is not JSON", response.status);
        }
    }
    if (!response.ok) {
        throw new ConnectError(body.code || "unknown",
            body.message || "HTTP " + response.status, response.status);
    }
    return body;
}

// proto3 JSON writes 64-bit integers as strings; the page counts with
// numbers (versions and totals stay far below 2^53).
export function int(value) {
    return value === undefined ? 0 : Number(value);
}
