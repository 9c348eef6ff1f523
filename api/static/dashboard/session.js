// Signing in and out. The token lives in localStorage until it expires or the user signs out.

import * as api from "./api.js";
import { $, say } from "./dom.js";

const TOKEN_KEY = "hireflow.access_token";
const USER_KEY = "hireflow.username";
const EXPIRES_KEY = "hireflow.expires_at";

let expiry = null;
let listeners = { signedIn: () => {}, signedOut: () => {} };

function enter(token, username, expiresAt) {
  api.useToken(token);
  clearTimeout(expiry);
  expiry = setTimeout(() => leave("Your session has ended. Sign in again."), Math.max(0, expiresAt - Date.now()));
  $("session-name").textContent = `Signed in as ${username}`;
  document.body.dataset.session = "signed-in";
  listeners.signedIn();
}

function leave(note) {
  const wasIn = document.body.dataset.session === "signed-in";
  for (const key of [TOKEN_KEY, USER_KEY, EXPIRES_KEY]) localStorage.removeItem(key);
  api.useToken(null);
  clearTimeout(expiry);
  $("session-name").textContent = "";
  say("login-message", note);
  document.body.dataset.session = "signed-out";
  if (wasIn) listeners.signedOut();
}

async function signIn(event) {
  event.preventDefault();
  const username = $("login-username").value;
  const password = $("login-password").value;
  const button = event.currentTarget.querySelector("button[type='submit']");
  button.disabled = true;
  say("login-message", "Signing in…");
  try {
    const { access_token: token, expires_in: lifetime } = await api.request("signIn", { body: { username, password } });
    const expiresAt = Date.now() + lifetime * 1000;
    localStorage.setItem(TOKEN_KEY, token);
    localStorage.setItem(USER_KEY, username);
    localStorage.setItem(EXPIRES_KEY, String(expiresAt));
    $("login-password").value = "";
    say("login-message", "");
    enter(token, username, expiresAt);
  } catch (error) {
    say("login-message", `Sign-in failed: ${error.message}`, "error");
  } finally {
    button.disabled = false;
  }
}

/** Wire the sign-in form; call signedIn() now if a live token is stored, and on each sign-in. */
export function start(callbacks) {
  listeners = callbacks;
  api.onSessionEnded(() => leave("Your session has ended. Sign in again."));
  $("login-form").addEventListener("submit", signIn);
  $("logout").addEventListener("click", () => leave("You are signed out."));
  const token = localStorage.getItem(TOKEN_KEY);
  const expiresAt = Number(localStorage.getItem(EXPIRES_KEY));
  if (token && expiresAt > Date.now() + 5000) {
    enter(token, localStorage.getItem(USER_KEY), expiresAt);
  } else {
    leave(token ? "Your session has ended. Sign in again." : "");
  }
}
