// The room's opening and closing controls (meeting-session.js), kept in step with the meeting's status
// as the /room socket pushes it, whoever opened or closed it.
import { wireSession } from "./meeting-session.js";

const controls = wireSession();

export function listen(socket) {
  socket.on("meeting-state", (meeting) => controls.show(meeting.status));
}

export function joined(reply) {
  controls.show(reply.state.meeting.status);
}
