"""Projects: access control, the stored Yjs document, named versions, live sync rooms."""
