/** The commands that talk to a KLMS (login, logout, whoami, task), as the CLI's command table takes them. */
import { loginCommand, logoutCommand, whoamiCommand } from "./login.js";
import { publishCommand } from "./publish.js";
import { taskCommand } from "./task.js";

/** Registered in the CLI's command table after the local ones. */
export const clusterCommands = [loginCommand, logoutCommand, whoamiCommand, publishCommand, taskCommand];
