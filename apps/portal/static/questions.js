// A question asked only when an earlier one has a given answer is hidden until it has that answer. Without
// this file every question shows, each saying when to answer it, and the server ignores the answers to
// questions whose condition is not met; so hiding one never loses what was typed in it.
// It works on whatever the page holds now: questions swapped in by a script or by htmx are seen as they
// arrive. Only questions after the one being answered change, so the focus is never in one that hides.
(function () {
  "use strict";

  // The values chosen in a question's field: the checked radio or checkboxes, or the text typed.
  function chosen(field) {
    var inputs = document.querySelectorAll('[name="' + CSS.escape(field) + '"]');
    var values = [];
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      if ((input.type === "radio" || input.type === "checkbox") && !input.checked) continue;
      if (input.value) values.push(input.value);
    }
    return values;
  }

  // In document order, so a question whose condition names a hidden question hides too.
  function apply() {
    var hidden = {};
    var questions = document.querySelectorAll(".question[data-shown-when-field]");
    for (var i = 0; i < questions.length; i++) {
      var question = questions[i];
      var field = question.getAttribute("data-shown-when-field");
      var value = question.getAttribute("data-shown-when-value");
      var shown = !hidden[field] && chosen(field).indexOf(value) !== -1;
      if (question.hidden === shown) question.hidden = !shown;
      var own = question.querySelector("[name]");
      if (own && !shown) hidden[own.name] = true;
    }
  }

  document.addEventListener("change", apply);
  new MutationObserver(function (changes) {
    for (var i = 0; i < changes.length; i++) {
      if (changes[i].addedNodes.length) return apply();
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
  apply();
})();
