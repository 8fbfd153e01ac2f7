// Utility-process entry: runs long jobs (quantize, fit) away from the main process.
process.parentPort?.on('message', () => {
  // Jobs are wired in by the desktop-app issue.
});
