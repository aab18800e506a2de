//! Who is acting. Every service function that reads or writes user data takes an `&Actor`
//! first and checks access before anything else. API keys join as a second variant later.
#[derive(Clone, Debug)]
pub enum Actor {
    User { user_id: String, session_id: String },
}

impl Actor {
    /// The person a background job acts for (it has no session; access is checked as for
    /// any request, with their memberships as they are when the job runs).
    pub fn job_for(user_id: &str) -> Actor {
        Actor::User {
            user_id: user_id.to_string(),
            session_id: String::new(),
        }
    }

    pub fn user_id(&self) -> &str {
        match self {
            Actor::User { user_id, .. } => user_id,
        }
    }
}
