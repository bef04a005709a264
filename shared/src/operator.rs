//! Operators: the people who run the program — the affiliate manager, finance, the
//! founder — each added by email with a role, so the console knows who did what (the
//! audit log names them) and what each may do. Operators and partners are separate
//! populations: an operator is never a partner session and the reverse.
//!
//! | role | may |
//! |---|---|
//! | `owner` | everything: operators, program settings, secrets, payouts, and all below |
//! | `manager` | partners, campaigns, links, conversions, emails (no payouts, no secrets) |
//! | `analyst` | read everything, change nothing |

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::error::Invalid;

/// An operator as kept, under their (lower-case) email.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    pub email: String,
    pub role: Role,
    /// Who added them: an admin key's name or another operator's email.
    pub added_by: String,
    pub added_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Manager,
    Analyst,
}

/// What an operator may be asked to do, by area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Every page and listing.
    Read,
    /// Approve, reject, suspend, reinstate partners; recruiters, groups, keys.
    ManagePartners,
    /// Campaigns, their terms, links and promo codes.
    ManageCampaigns,
    /// Approve, reject and refund conversions.
    ManageConversions,
    /// Email templates.
    ManageEmails,
    /// Payout runs, marking payouts paid or failed, the payment files.
    ManagePayouts,
    /// Program settings, exchange rates, stores.
    ManageSettings,
    /// The postback secret and store secrets.
    ManageSecrets,
    /// Adding, changing and removing operators.
    ManageOperators,
}

impl Permission {
    pub const ALL: [Permission; 9] = [
        Permission::Read,
        Permission::ManagePartners,
        Permission::ManageCampaigns,
        Permission::ManageConversions,
        Permission::ManageEmails,
        Permission::ManagePayouts,
        Permission::ManageSettings,
        Permission::ManageSecrets,
        Permission::ManageOperators,
    ];
}

impl Role {
    pub fn parse(text: &str) -> Result<Role, Invalid> {
        match text.trim() {
            "owner" => Ok(Role::Owner),
            "manager" => Ok(Role::Manager),
            "analyst" => Ok(Role::Analyst),
            other => Err(Invalid(format!(
                "must be owner, manager or analyst, got {other:?}"
            ))),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Analyst => "analyst",
        }
    }

    /// Whether this role may do what `permission` names.
    pub fn may(&self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Owner => true,
            Role::Manager => matches!(
                permission,
                Read | ManagePartners | ManageCampaigns | ManageConversions | ManageEmails
            ),
            Role::Analyst => permission == Read,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_may_exactly_what_the_table_says() {
        let allowed = |role: Role| -> Vec<Permission> {
            Permission::ALL
                .into_iter()
                .filter(|p| role.may(*p))
                .collect()
        };
        assert_eq!(allowed(Role::Owner), Permission::ALL);
        assert_eq!(
            allowed(Role::Manager),
            [
                Permission::Read,
                Permission::ManagePartners,
                Permission::ManageCampaigns,
                Permission::ManageConversions,
                Permission::ManageEmails
            ]
        );
        assert_eq!(allowed(Role::Analyst), [Permission::Read]);
    }

    #[test]
    fn roles_read_by_name() {
        for role in [Role::Owner, Role::Manager, Role::Analyst] {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("admin").is_err());
    }
}
