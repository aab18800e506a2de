//! Who is acting. Every service function that reads or writes user data takes an `&Actor`
//! first and checks access before anything else. API keys join as a second variant later.
#[derive(Clone, Debug)]
pub enum Actor {
    User { user_id: String, session_id: String },
}

impl Actor {
    pub fn user_id(&self) -> &str {
        match self {
            Actor::User { user_id, .. } => user_id,
        }
    }
}
