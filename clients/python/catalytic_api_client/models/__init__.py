""" Contains all the data models used in inputs/outputs """

from .api_key_create import ApiKeyCreate
from .api_key_created import ApiKeyCreated
from .api_key_out import ApiKeyOut
from .api_key_page import ApiKeyPage
from .attempt_out import AttemptOut
from .audit_event_out import AuditEventOut
from .audit_event_out_details import AuditEventOutDetails
from .audit_page import AuditPage
from .blocked_in_type_1 import BlockedInType1
from .bulk_accepted import BulkAccepted
from .bulk_in import BulkIn
from .bulk_item import BulkItem
from .cancelled_out import CancelledOut
from .checkout_out import CheckoutOut
from .checkout_request import CheckoutRequest
from .concurrency_key_in import ConcurrencyKeyIn
from .concurrency_key_out import ConcurrencyKeyOut
from .concurrency_key_page import ConcurrencyKeyPage
from .deleted_out import DeletedOut
from .deletion_in import DeletionIn
from .deletion_out import DeletionOut
from .endpoint_change import EndpointChange
from .endpoint_created import EndpointCreated
from .endpoint_in import EndpointIn
from .endpoint_out import EndpointOut
from .endpoint_page import EndpointPage
from .field_error import FieldError
from .invitation_in import InvitationIn
from .invitation_out import InvitationOut
from .invoice_line_out import InvoiceLineOut
from .invoice_out import InvoiceOut
from .invoice_page import InvoicePage
from .job_accepted import JobAccepted
from .job_in import JobIn
from .job_in_params import JobInParams
from .job_out import JobOut
from .job_out_error_type_0 import JobOutErrorType0
from .job_out_request import JobOutRequest
from .job_out_result_type_0 import JobOutResultType0
from .job_page import JobPage
from .jobs_matching_in import JobsMatchingIn
from .lattice_create import LatticeCreate
from .lattice_in import LatticeIn
from .lattice_out import LatticeOut
from .lattice_out_definition import LatticeOutDefinition
from .lattice_page import LatticePage
from .lattice_patch import LatticePatch
from .login_in import LoginIn
from .mail_accepted import MailAccepted
from .me_out import MeOut
from .message_out import MessageOut
from .message_page import MessagePage
from .password_change_in import PasswordChangeIn
from .ping_out import PingOut
from .plan_change import PlanChange
from .plan_changed import PlanChanged
from .portal_out import PortalOut
from .problem import Problem
from .progress_out import ProgressOut
from .recover_in import RecoverIn
from .recover_out import RecoverOut
from .refresh_in import RefreshIn
from .register_accepted import RegisterAccepted
from .register_in import RegisterIn
from .replay_failed_in import ReplayFailedIn
from .replay_out import ReplayOut
from .reset_confirm_in import ResetConfirmIn
from .reset_request_in import ResetRequestIn
from .scaling_out import ScalingOut
from .schedule_in import ScheduleIn
from .schedule_list import ScheduleList
from .schedule_out import ScheduleOut
from .schedule_out_job import ScheduleOutJob
from .schedule_run_out import ScheduleRunOut
from .schedule_runs import ScheduleRuns
from .secret_rotated import SecretRotated
from .stripe_receipt import StripeReceipt
from .tenant_out import TenantOut
from .token_out import TokenOut
from .usage_bucket_out import UsageBucketOut
from .usage_out import UsageOut
from .user_out import UserOut
from .user_page import UserPage
from .user_patch import UserPatch
from .verify_email_in import VerifyEmailIn
from .worker_out import WorkerOut

__all__ = (
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyOut",
    "ApiKeyPage",
    "AttemptOut",
    "AuditEventOut",
    "AuditEventOutDetails",
    "AuditPage",
    "BlockedInType1",
    "BulkAccepted",
    "BulkIn",
    "BulkItem",
    "CancelledOut",
    "CheckoutOut",
    "CheckoutRequest",
    "ConcurrencyKeyIn",
    "ConcurrencyKeyOut",
    "ConcurrencyKeyPage",
    "DeletedOut",
    "DeletionIn",
    "DeletionOut",
    "EndpointChange",
    "EndpointCreated",
    "EndpointIn",
    "EndpointOut",
    "EndpointPage",
    "FieldError",
    "InvitationIn",
    "InvitationOut",
    "InvoiceLineOut",
    "InvoiceOut",
    "InvoicePage",
    "JobAccepted",
    "JobIn",
    "JobInParams",
    "JobOut",
    "JobOutErrorType0",
    "JobOutRequest",
    "JobOutResultType0",
    "JobPage",
    "JobsMatchingIn",
    "LatticeCreate",
    "LatticeIn",
    "LatticeOut",
    "LatticeOutDefinition",
    "LatticePage",
    "LatticePatch",
    "LoginIn",
    "MailAccepted",
    "MeOut",
    "MessageOut",
    "MessagePage",
    "PasswordChangeIn",
    "PingOut",
    "PlanChange",
    "PlanChanged",
    "PortalOut",
    "Problem",
    "ProgressOut",
    "RecoverIn",
    "RecoverOut",
    "RefreshIn",
    "RegisterAccepted",
    "RegisterIn",
    "ReplayFailedIn",
    "ReplayOut",
    "ResetConfirmIn",
    "ResetRequestIn",
    "ScalingOut",
    "ScheduleIn",
    "ScheduleList",
    "ScheduleOut",
    "ScheduleOutJob",
    "ScheduleRunOut",
    "ScheduleRuns",
    "SecretRotated",
    "StripeReceipt",
    "TenantOut",
    "TokenOut",
    "UsageBucketOut",
    "UsageOut",
    "UserOut",
    "UserPage",
    "UserPatch",
    "VerifyEmailIn",
    "WorkerOut",
)
