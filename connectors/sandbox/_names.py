"""Name pools for generated worlds: realistic, and unique within each pool."""

from __future__ import annotations

__all__ = ["FIRST_NAMES", "LAST_NAMES", "LEVELS", "PROVIDERS", "SKILLS"]

SKILLS = (
    "Python", "Negotiation", "Data Privacy", "Public Speaking", "SQL", "Project Management",
    "Leadership", "Excel", "Customer Service", "Time Management", "Cloud Security",
    "Agile Methods", "Conflict Resolution", "Financial Planning", "Machine Learning",
    "Stakeholder Management", "Business Writing", "Coaching", "Accessibility", "Kubernetes",
    "Sales Forecasting", "First Aid", "Design Thinking", "Anti-Bribery Compliance",
    "Workplace Safety", "Data Visualisation", "Change Management", "Presentation Skills",
    "Product Discovery", "Remote Collaboration",
)  # fmt: skip
PROVIDERS = (
    "Acme Academy", "LinkedIn Learning", "Coursera", "Udemy Business", "Pluralsight",
    "In-house Training", "Skillsoft", "Harvard ManageMentor",
)  # fmt: skip
LEVELS = ("Introduction to", "Foundations of", "Advanced", "Practical", "Mastering")
FIRST_NAMES = (
    "Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hannah", "Ivan", "Julia",
    "Karim", "Lena", "Marco", "Nina", "Oscar", "Priya", "Quentin", "Rosa", "Sven", "Tara",
    "Umar", "Vera", "Wei", "Yusuf", "Zoe", "Sarah", "Lukas", "Mia", "Noah", "Elif",
)  # fmt: skip
LAST_NAMES = (
    "Schmidt", "Johnson", "Garcia", "Meyer", "Rossi", "Dubois", "Nowak", "Kim", "Silva",
    "Okafor", "Jensen", "Novak", "Tanaka", "Patel", "Weber", "Fischer", "Brown", "Costa",
    "Larsen", "Haddad", "Ivanova", "Moreau", "Becker", "Lopez", "Nguyen",
)  # fmt: skip
