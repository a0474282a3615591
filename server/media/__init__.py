"""Media configuration: ICE servers from settings only, and TURN credentials minted per member."""
