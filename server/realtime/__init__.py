"""The live room: the `/room` socket.io namespace, its in-process room state and its limits."""
