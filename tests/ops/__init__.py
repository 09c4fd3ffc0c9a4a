"""Operations: workers, logs, copy, backup, retention, the deployment kit (issue 12)."""
