// The desktop shell calls this (through the webview, not IPC) when the listeners cannot
// start, so the user reads the reason in the window instead of seeing it close.
window.showStartupProblem = (sentence) => {
  document.getElementById("message").textContent = "Rollcall could not start.";
  const problem = document.getElementById("problem");
  problem.textContent = sentence;
  problem.hidden = false;
  document.getElementById("hint").hidden = false;
};
