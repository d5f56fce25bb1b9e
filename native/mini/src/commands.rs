//! The control commands read from stdin, one per line, each answered with
//! one line: `ok` or `error: <why>`.

use std::io::{BufRead, Write};

use crate::nodes::Nodes;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Leader(usize),
    StopMaster(usize),
    StartMaster(usize),
    StopWorker(usize),
    StartWorker(usize),
    Quit,
}

impl Command {
    pub fn parse(line: &str) -> Result<Command, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let index = |name: &str| -> Result<usize, String> {
            match words.as_slice() {
                [_, i] => i
                    .parse()
                    .map_err(|_| format!("{name}: expected an index, got {i:?}")),
                _ => Err(format!("{name}: expected one index, as in `{name} 0`")),
            }
        };
        match words.first().copied() {
            Some("leader") => index("leader").map(Command::Leader),
            Some("stop-master") => index("stop-master").map(Command::StopMaster),
            Some("start-master") => index("start-master").map(Command::StartMaster),
            Some("stop-worker") => index("stop-worker").map(Command::StopWorker),
            Some("start-worker") => index("start-worker").map(Command::StartWorker),
            Some("quit") if words.len() == 1 => Ok(Command::Quit),
            Some(other) => Err(format!(
                "unknown command {other:?}; expected leader, stop-master, start-master, \
                 stop-worker, start-worker or quit"
            )),
            None => Err("empty command".to_string()),
        }
    }
}

fn check(index: usize, count: usize, what: &str) -> Result<(), String> {
    if index < count {
        Ok(())
    } else {
        Err(format!("no {what} {index}: there are {count}"))
    }
}

/// Carries out one command; `Quit` is left to the caller.
pub fn execute(nodes: &Nodes, command: Command) -> Result<(), String> {
    match command {
        Command::Leader(i) => {
            check(i, nodes.masters(), "master")?;
            nodes.cluster.set_leader(i);
        }
        Command::StopMaster(i) => {
            check(i, nodes.masters(), "master")?;
            nodes.stop_master(i);
        }
        Command::StartMaster(i) => {
            check(i, nodes.masters(), "master")?;
            nodes
                .start_master(i)
                .map_err(|e| format!("cannot listen again for master {i}: {e}"))?;
        }
        Command::StopWorker(i) => {
            check(i, nodes.workers(), "worker")?;
            nodes.stop_worker(i);
        }
        Command::StartWorker(i) => {
            check(i, nodes.workers(), "worker")?;
            nodes
                .start_worker(i)
                .map_err(|e| format!("cannot listen again for worker {i}: {e}"))?;
        }
        Command::Quit => {}
    }
    Ok(())
}

/// Answers commands until `quit` or the end of the input.
pub fn run<R: BufRead, W: Write>(nodes: &Nodes, input: R, mut output: W) {
    for line in input.lines() {
        let Ok(line) = line else {
            break;
        };
        if line.trim().is_empty() {
            continue;
        }
        let outcome = Command::parse(&line).and_then(|c| {
            execute(nodes, c)?;
            Ok(c)
        });
        let answer = match &outcome {
            Ok(_) => "ok".to_string(),
            Err(why) => format!("error: {why}"),
        };
        if writeln!(output, "{answer}")
            .and_then(|_| output.flush())
            .is_err()
        {
            break;
        }
        if outcome == Ok(Command::Quit) {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_and_refuse_nonsense() {
        assert_eq!(Command::parse("leader 2"), Ok(Command::Leader(2)));
        assert_eq!(
            Command::parse(" stop-worker  0 "),
            Ok(Command::StopWorker(0))
        );
        assert_eq!(Command::parse("quit"), Ok(Command::Quit));
        assert!(Command::parse("leader").is_err());
        assert!(Command::parse("leader x").is_err());
        assert!(Command::parse("explode 1").is_err());
    }
}
