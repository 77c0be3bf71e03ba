"""netgrader: the course's pytest-based autograder (see grader/README.md)."""
