/**
 * The token page: a bearer token and a namespace. The token is tried on the namespace's resource list
 * before it is kept (in sessionStorage only); a refusal is shown as the API words it.
 */
import { api } from "./api-client.js";
import { failureText } from "./api-failure.js";
import { navigate } from "./app-shell.js";
import { h } from "./dom.js";
import { lastRefusal, signIn, signOut } from "./session.js";

const namespaceKey = "tally.namespace";

export function renderLoginPage(container: HTMLElement): () => void {
  const token = h("input", {
    type: "password",
    name: "token",
    autocomplete: "off",
    required: true,
    "data-testid": "token",
  });
  const namespace = h("input", {
    type: "text",
    name: "namespace",
    required: true,
    pattern: "[a-z0-9]([-a-z0-9]*[a-z0-9])?",
    value: sessionStorage.getItem(namespaceKey) ?? "",
    "data-testid": "login-namespace",
  });
  const refusal = lastRefusal();
  const message = h(
    "p",
    { class: "failure", role: "alert", "data-testid": "login-message", hidden: refusal === null },
    refusal ?? "",
  );
  const submit = h("button", { type: "submit", "data-testid": "sign-in" }, "Sign in");
  const form = h(
    "form",
    { class: "login" },
    h("h1", {}, "Tally"),
    h("label", {}, "Bearer token", token),
    h("label", {}, "Namespace", namespace),
    submit,
    message,
    h(
      "p",
      { class: "hint" },
      "The token is kept in this tab only (session storage) and sent as Authorization: Bearer.",
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void (async () => {
      submit.disabled = true;
      message.hidden = false;
      message.className = "loading";
      message.textContent = "Checking the token…";
      signIn(token.value.trim());
      const ns = namespace.value.trim();
      const answer = await api.get<unknown>(ns, "resources");
      submit.disabled = false;
      if (!answer.ok) {
        signOut();
        message.className = "failure";
        message.textContent = failureText(answer.failure);
        return;
      }
      sessionStorage.setItem(namespaceKey, ns);
      navigate({ page: "resources", namespace: ns });
    })();
  });
  container.replaceChildren(form);
  token.focus();
  return () => undefined;
}
