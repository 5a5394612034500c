/* Starts the rasa-webchat widget on the landing page and the participants' check-in page.
   Settings come from the page (#iop-widget-config, filled by bot/apps/web from content/clinic.yml). */
(function () {
  "use strict";

  var TOKEN_KEY = "iop_participant_token";   // per tab (sessionStorage), for reloads
  var PAGE_KEY = "iop_chat_page";            // which page the stored conversation belongs to
  var WIDGET_SESSION_KEY = "chat_session";   // rasa-webchat's own storage key
  var TOKEN_PATTERN = /^[A-Za-z0-9_-]{20,128}$/;  // secrets.token_urlsafe (bot/db/participants.py)

  var config = JSON.parse(document.getElementById("iop-widget-config").textContent);
  var reduceMotion = window.matchMedia &&
    window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function storage() {
    try { return window.sessionStorage; } catch (e) { return null; }
  }

  /* A conversation started on the other page is not continued here (a visitor's chat must not
     carry on as a check-in, nor a check-in without its token). */
  function keepConversationOf(page) {
    var store = storage();
    if (!store) { return; }
    if (store.getItem(PAGE_KEY) !== page) {
      store.removeItem(WIDGET_SESSION_KEY);
      store.setItem(PAGE_KEY, page);
    }
  }

  /* The participant token from the link's fragment (#token=...), removed from the address bar at
     once. Returns {token} or {problem: "missing"|"malformed"}. */
  function participantToken() {
    var store = storage();
    var fragment = window.location.hash.replace(/^#/, "");
    if (fragment) {
      history.replaceState(null, "", window.location.pathname + window.location.search);
      var token = new URLSearchParams(fragment).get("token");
      if (!token || !TOKEN_PATTERN.test(token)) { return { problem: "malformed" }; }
      if (store) {
        if (store.getItem(TOKEN_KEY) !== token) {  // a new link: a new check-in
          store.removeItem(WIDGET_SESSION_KEY);
        }
        store.setItem(TOKEN_KEY, token);
      }
      return { token: token };
    }
    var kept = store && store.getItem(TOKEN_KEY);
    if (kept && TOKEN_PATTERN.test(kept)) { return { token: kept }; }
    return { problem: "missing" };
  }

  function showLinkProblem(problem) {
    var box = document.getElementById("link-problem");
    var text = document.getElementById("link-problem-text");
    text.textContent = problem === "malformed"
      ? "This check-in link looks incomplete or damaged. Open the whole link from the message your care team sent you, exactly as it was sent."
      : "To check in, open the personal check-in link your care team sent you. This page can't identify you without it, and nothing you type here would be saved.";
    box.hidden = false;
    document.getElementById("checkin-chat").hidden = true;
    box.setAttribute("tabindex", "-1");
    box.focus();
  }

  /* The widget's controls lack names and its quick replies are plain <div>s: give them labels,
     a button role and keyboard access. */
  function improveAccessibility(root) {
    var labels = [
      [".rw-new-message", "aria-label", "Your message"],
      [".rw-send", "aria-label", "Send"],
      [".rw-close-button", "aria-label", "Close the chat"],
      [".rw-messages-container", "aria-live", "polite"],
      [".rw-messages-container", "role", "log"]
    ];
    labels.forEach(function (item) {
      root.querySelectorAll(item[0]).forEach(function (el) {
        if (el.getAttribute(item[1]) !== item[2]) { el.setAttribute(item[1], item[2]); }
      });
    });
    root.querySelectorAll(".rw-launcher").forEach(function (el) {
      var open = document.querySelector(".rw-conversation-container") !== null;
      var label = open ? "Close the chat" : "Open the chat with our automated assistant";
      if (el.getAttribute("aria-label") !== label) { el.setAttribute("aria-label", label); }
    });
    root.querySelectorAll(".rw-reply:not([role])").forEach(function (el) {
      el.setAttribute("role", "button");
      el.setAttribute("tabindex", "0");
      el.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          el.click();
        }
      });
    });
  }

  function startWidget(customData, element) {
    var props = {
      // same origin: this server forwards /socket.io/ to Rasa (bot/apps/web/proxy.py)
      socketUrl: window.location.origin,
      socketPath: "/socket.io/",
      initPayload: config.initPayload,
      customData: customData,
      title: config.title,
      subtitle: config.subtitle,
      inputTextFieldHint: "Type your message…",
      connectingText: config.connectingText,
      hideWhenNotConnected: false,
      embedded: Boolean(element),
      showFullScreenButton: false,
      withRules: false,
      params: { storage: "session" },
      mainColor: "#0b5f6b",
      userBackgroundColor: "#0b5f6b",
      userTextColor: "#ffffff",
      assistBackgoundColor: "#eef2f3",
      assistTextColor: "#1b2426",
      customMessageDelay: function () { return reduceMotion ? 0 : 400; }
    };
    window.WebChat.default(props, element || null);
    new MutationObserver(function () { improveAccessibility(document); })
      .observe(document.body, { childList: true, subtree: true });
  }

  function openChat() {
    var launcher = document.querySelector(".rw-launcher");
    if (launcher && !document.querySelector(".rw-conversation-container")) { launcher.click(); }
  }

  /* The widget renders its input after opening, and may render it again once connected:
     keep focusing it until it holds the focus (for about two seconds at most). */
  function focusInput(triesLeft) {
    var input = document.querySelector(".rw-new-message");
    if (input && !input.disabled) { input.focus(); }
    if (document.activeElement !== input && triesLeft > 0) {
      window.setTimeout(function () { focusInput(triesLeft - 1); }, 50);
    }
  }

  if (config.page === "checkin") {
    keepConversationOf("checkin");
    var found = participantToken();
    if (found.problem) {
      showLinkProblem(found.problem);
      return;
    }
    startWidget({ participant_token: found.token }, document.getElementById("checkin-chat"));
  } else {
    keepConversationOf("home");
    startWidget({}, null);
    var button = document.getElementById("open-chat");
    if (button) {
      button.addEventListener("click", function () {
        openChat();
        window.setTimeout(openChat, 50);  // the launcher may not be rendered yet
        focusInput(40);
      });
    }
  }
})();
