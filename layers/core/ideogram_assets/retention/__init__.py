"""Retention and reconciliation: the policy (how long each class is kept), the reconciler (the
rescue path for images not stored yet), the sweep (removing exactly what has expired) and the
report, run by the retention function on schedules and on demand."""
