"""A sample data set shaped like the challenge files: same columns, realistic values, same kinds of broken rows."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from core.storage import BlobStorage

DEPARTMENT_NAMES = (
    "Product Management", "Sales", "Research and Development", "Business Development", "Engineering",
    "Human Resources", "Services", "Support", "Marketing", "Training", "Legal", "Accounting",
)  # fmt: skip
JOB_LEVELS = ("", " I", " II", " III", " IV")
JOB_ROLES = (
    "Account Executive", "Accountant", "Analog Circuit Design manager", "Assistant Manager", "Biostatistician",
    "Budget/Accounting Analyst", "Business Systems Development Analyst", "Chemical Engineer", "Civil Engineer",
    "Clinical Specialist", "Community Outreach Specialist", "Compensation Analyst", "Cost Accountant",
    "Data Coordinator", "Database Administrator", "Design Engineer", "Developer", "Editor", "Engineer",
    "Environmental Specialist", "Financial Advisor", "Financial Analyst", "Food Chemist", "General Manager",
    "Geological Engineer", "Graphic Designer", "Health Coach", "Help Desk Operator", "Human Resources Manager",
    "Information Systems Manager", "Internal Auditor", "Legal Assistant", "Marketing Assistant", "Marketing Manager",
    "Mechanical Systems Engineer", "Nurse Practicioner", "Office Assistant", "Operator", "Paralegal",
    "Payment Adjustment Coordinator", "Programmer Analyst", "Project Manager", "Quality Engineer",
    "Recruiter", "Research Associate", "Sales Associate", "Senior Developer", "Social Worker",
    "Software Consultant", "Software Engineer", "Staff Accountant", "Statistician", "Structural Engineer",
    "Systems Administrator", "Tax Accountant", "Teacher", "Technical Writer", "Web Designer",
)  # fmt: skip
FIRST_NAMES = (
    "Harold", "Ty", "Lyman", "Lotti", "Gretna", "Marlow", "Joelly", "Ellie", "Thia", "Ludvig", "Beltran",
    "Cirstoforo", "Jerri", "Ana", "Bruno", "Camila", "Diego", "Elena", "Farid", "Greta", "Hiro", "Ines",
    "Jonas", "Keira", "Luis", "Maya", "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tamsin",
    "Ulla", "Victor", "Wen", "Xavier", "Yara", "Zoltan", "Amélie", "Søren", "Zoë", "José", "Łukasz",
)  # fmt: skip
LAST_NAMES = (
    "Vogt", "Hofer", "Hadye", "Crowthe", "Lording", "Morican", "Norwood", "Natte", "Martinetto", "Zebedee",
    "Garcia", "Okafor", "Nakamura", "Schmidt", "Rossi", "Dubois", "Kowalski", "Andersen", "Silva", "Haddad",
    "Ivanova", "O'Brien", "MacLeod", "van der Berg", "Nguyen", "Patel", "Müller", "Brontë", "Núñez",
)  # fmt: skip
YEAR_START = datetime(2021, 1, 1, tzinfo=UTC)
SECONDS_IN_TWO_YEARS = 2 * 365 * 24 * 3600


def departments_rows() -> list[list[str]]:
    return [[str(i), name] for i, name in enumerate(DEPARTMENT_NAMES, start=1)]


def jobs_rows() -> list[list[str]]:
    names = [role + level for role in JOB_ROLES for level in JOB_LEVELS]
    return [[str(i), name] for i, name in enumerate(names[:183], start=1)]


def employee_rows(count: int, invalid_share: float, seed: int = 2021, start_id: int = 1) -> Iterator[list[str]]:
    """Hires spread over 2021 and 2022; about ``invalid_share`` of them have one empty field, as in the real file."""
    # Sample data must be reproducible from its seed; nothing here needs to be unpredictable.
    rng = random.Random(seed)  # nosec B311
    departments = len(DEPARTMENT_NAMES)
    jobs = len(jobs_rows())
    for row_id in range(start_id, start_id + count):
        moment = YEAR_START + timedelta(seconds=rng.randrange(SECONDS_IN_TWO_YEARS))
        row = [
            str(row_id),
            f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            str(rng.randint(1, departments)),
            str(rng.randint(1, jobs)),
        ]
        if rng.random() < invalid_share:
            row[rng.randint(1, 4)] = ""
        yield row


def csv_bytes(rows: Iterator[list[str]] | list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def write_sample(
    storage: BlobStorage, employees: int = 2000, invalid_share: float = 0.035, seed: int = 2021
) -> dict[str, int]:
    """Write ``departments.csv``, ``jobs.csv`` and ``hired_employees.csv`` at the root of ``storage``."""
    files = {
        "departments.csv": csv_bytes(departments_rows()),
        "jobs.csv": csv_bytes(jobs_rows()),
        "hired_employees.csv": csv_bytes(employee_rows(employees, invalid_share, seed)),
    }
    return {name: storage.write(name, data) for name, data in files.items()}
