"""The web console: server-rendered pages for the people of DESIGN §10, one more front door
over the same domain services the API routes call."""
