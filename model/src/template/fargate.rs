//! Fargate task sizes: the cpu and memory pairs Fargate accepts. A task definition with any other
//! pair is refused by ECS only when the stack is deployed, so the pair is checked here first.

use std::fmt;

/// The cpu units Fargate offers, with the memory (MiB) each accepts: from, to, step.
const SIZES: [(u32, u32, u32, u32); 7] = [
    (256, 512, 2048, 0), // 512, 1024, 2048: not an even step, listed in `memory_choices`
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
];

/// The cpu units Fargate accepts.
pub fn cpu_choices() -> Vec<u32> {
    SIZES.iter().map(|s| s.0).collect()
}

/// The memory sizes (MiB) Fargate accepts with `cpu`; empty when `cpu` is not a Fargate size.
pub fn memory_choices(cpu: u32) -> Vec<u32> {
    match SIZES.iter().find(|s| s.0 == cpu) {
        None => Vec::new(),
        Some((256, ..)) => vec![512, 1024, 2048],
        Some(&(_, from, to, step)) => (from..=to).step_by(step as usize).collect(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskSizeError {
    #[error("cpu {cpu} is not a Fargate task size; use one of {}", join(&cpu_choices()))]
    Cpu { cpu: u32, memory: u32 },
    #[error(
        "cpu {cpu} with memory {memory} MiB is not a Fargate task size; with cpu {cpu}, memory (MiB) must be one of {}",
        join(&memory_choices(*cpu))
    )]
    Memory { cpu: u32, memory: u32 },
}

fn join(values: &[u32]) -> String {
    values.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// A cpu and memory pair Fargate accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskSize {
    cpu: u32,
    memory: u32,
}

impl TaskSize {
    /// `cpu` in cpu units (1024 = one vCPU), `memory` in MiB.
    pub fn new(cpu: u32, memory: u32) -> Result<Self, TaskSizeError> {
        let choices = memory_choices(cpu);
        if choices.is_empty() {
            Err(TaskSizeError::Cpu { cpu, memory })
        } else if !choices.contains(&memory) {
            Err(TaskSizeError::Memory { cpu, memory })
        } else {
            Ok(Self { cpu, memory })
        }
    }

    pub fn cpu(self) -> u32 {
        self.cpu
    }

    pub fn memory(self) -> u32 {
        self.memory
    }
}

impl fmt::Display for TaskSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cpu {} / memory {} MiB", self.cpu, self.memory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_pair_is_accepted() {
        let count: usize = cpu_choices().into_iter().map(|cpu| memory_choices(cpu).len()).sum();
        for cpu in cpu_choices() {
            for memory in memory_choices(cpu) {
                TaskSize::new(cpu, memory).unwrap();
            }
        }
        // 3 + 4 + 7 + 13 + 23 + 12 + 12
        assert_eq!(count, 74);
        assert_eq!(memory_choices(16384).last(), Some(&122880));
        assert_eq!(memory_choices(4096).last(), Some(&30720));
        assert_eq!(memory_choices(8192)[..3], [16384, 20480, 24576]);
    }

    #[test]
    fn a_wrong_memory_names_the_pair_and_the_choices() {
        let err = TaskSize::new(256, 4096).unwrap_err().to_string();
        assert!(err.contains("cpu 256 with memory 4096"), "{err}");
        assert!(err.contains("512, 1024, 2048"), "{err}");
        let err = TaskSize::new(8192, 17408).unwrap_err().to_string();
        assert!(err.contains("16384, 20480"), "{err}");
        assert!(TaskSize::new(512, 1536).is_err());
        assert!(TaskSize::new(4096, 31744).is_err());
    }

    #[test]
    fn a_wrong_cpu_lists_the_cpus() {
        let err = TaskSize::new(300, 512).unwrap_err().to_string();
        assert!(err.contains("cpu 300") && err.contains("256, 512, 1024, 2048, 4096, 8192, 16384"), "{err}");
        assert!(TaskSize::new(0, 0).is_err());
    }
}
