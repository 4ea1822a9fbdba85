//! What the Odoo stages share: the environment's names on the server, argument vectors
//! turned into quoted commands, and closing lines worded by `paasportal_odoo::messages`.

use paasportal_core::shell::ShellCommand;
use paasportal_odoo::naming::EnvNames;

use crate::context::StageContext;

/// The names of the deployment's environment under the configured base directory
/// (the read replica only from Odoo 18 on, as the deployment plan has it).
pub fn env_names(cx: &StageContext<'_>) -> EnvNames {
    let env = cx.environment();
    let replica = env.read_replica
        && cx
            .vars()
            .get::<paasportal_core::OdooVersion>()
            .is_some_and(|v| v.major() >= paasportal_odoo::config_file::FIRST_REPLICA_VERSION);
    EnvNames::new(env.id, cx.config().deploy.base_dir.clone(), replica)
}

/// An argument vector as a command: the program and every argument quoted.
pub fn command(argv: &[String]) -> ShellCommand {
    ShellCommand::new("").args(argv)
}

/// A spec line with a duration (`f(seconds)`) whose duration the runner fills in:
/// `closing(messages::project_cloned)` is "Project repository cloned ({duration})".
pub fn closing(f: impl FnOnce(f64) -> String) -> String {
    f(f64::NAN).replacen("NaNs", "{duration}", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_lines_leave_the_duration_to_the_runner() {
        assert_eq!(
            closing(paasportal_odoo::messages::project_cloned),
            "Project repository cloned ({duration})"
        );
        assert_eq!(
            closing(paasportal_odoo::messages::dns_skipped),
            "DNS setup skipped ({duration}): No DNS provider configured"
        );
    }

    #[test]
    fn vectors_are_quoted() {
        let c = command(&["git".into(), "clone".into(), "a b".into(), "$(id)".into()]);
        assert_eq!(c.display(), "'git' 'clone' 'a b' '$(id)'");
    }
}
