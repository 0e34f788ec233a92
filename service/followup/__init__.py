"""Following up a child who returned to school or was enrolled (DESIGN §3): three months later
the alert shows `retained` or `dropped_again`, decided from the absence feed where the school
sends one, otherwise asked of the school."""
