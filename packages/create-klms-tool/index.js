console.log("create-klms-tool: not yet");
