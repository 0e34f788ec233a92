"""The auditor's side of the trail: searching it, reviewing emergency access, verifying the
chain, signed checkpoints, exports and a child's access report."""
