"""Who may see and change which requests. Pure rules: the web's guards and the workflow's Update
validators both ask them, so a role means the same thing everywhere."""

from dataclasses import dataclass, field

from infra.i18n import N_

TENANT_ADMIN, SUPERVISOR, AGENT, VIEWER = "tenant_admin", "supervisor", "agent", "viewer"
ROLES = (TENANT_ADMIN, SUPERVISOR, AGENT, VIEWER)
# Not a person's role: the town's maintenance system, acting through an API key with the work-order scope.
# It may work every request of the town, as an administrator may, and nothing else.
INTEGRATION = "integration"
ACTING_ROLES = (*ROLES, INTEGRATION)
ROLE_LABELS = {
    TENANT_ADMIN: N_("Administrator"),
    SUPERVISOR: N_("Supervisor"),
    AGENT: N_("Agent"),
    VIEWER: N_("Viewer"),
}
# Roles that see every request of their town; the others see their departments' requests only.
SEES_ALL = frozenset({TENANT_ADMIN, VIEWER})
DEPARTMENT_ROLES = frozenset({SUPERVISOR, AGENT})
NOT_YOURS = N_("This request belongs to a department you do not work for.")
READ_ONLY = N_("Your account can read requests but not change them.")
NOT_ASSIGNABLE = N_("This person does not work for this request's department. Choose someone who does.")


@dataclass(frozen=True)
class StaffAccess:
    role: str
    departments: frozenset[int] = field(default_factory=frozenset)

    @property
    def sees_all(self) -> bool:
        return self.role in SEES_ALL

    def may_see(self, department_id: int | None) -> bool:
        return self.sees_all or (self.role in DEPARTMENT_ROLES and department_id in self.departments)

    def may_act(self, department_id: int | None) -> bool:
        return self.role in (TENANT_ADMIN, INTEGRATION) or (
            self.role in DEPARTMENT_ROLES and department_id in self.departments
        )

    def refusal(self, department_id: int | None) -> str | None:
        """Why this person may not change a request of that department; None when they may."""
        if self.may_act(department_id):
            return None
        return READ_ONLY if self.role == VIEWER else NOT_YOURS


def assignee_refusal(assignee: StaffAccess, department_id: int | None) -> str | None:
    """Why this person may not be given a request of that department: whoever is given it must be able to
    open and work it, or they are mailed about a page that answers 404."""
    return None if assignee.may_act(department_id) else NOT_ASSIGNABLE
