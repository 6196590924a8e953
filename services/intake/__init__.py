"""Intake: award cycles, applicants, applications, packets, uploads, routing."""
