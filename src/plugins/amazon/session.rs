//! What one amazon-ebs session has made so far, shared by its steps: the source image, the
//! temporary key pair and security group, the instance, the AMI and its copies, and the EC2
//! clients per region. The cleanup step reads it to delete what the session leaves behind.

use super::lookup::FoundImage;
use aws_sdk_ec2::Client;
use std::collections::BTreeMap;

/// One AMI the session made (the capture's or a copy's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MadeImage {
    pub id: String,
    /// It reached `available`; an image that did not is deleted by the cleanup.
    pub done: bool,
}

/// A session's resources and clients.
#[derive(Debug, Default)]
pub struct Session {
    pub clients: BTreeMap<String, Client>,
    pub source: Option<FoundImage>,
    /// The temporary key pair's name, when kiln created one.
    pub key_pair: Option<String>,
    /// The temporary security group's ID, when kiln created one.
    pub security_group: Option<String>,
    pub instance: Option<String>,
    /// The AMIs by region: the build region's and each copy's.
    pub images: BTreeMap<String, MadeImage>,
    /// The capture or a copy failed.
    pub image_failed: bool,
}

impl Session {
    /// The capture or a copy failed, or some AMI never became available (an interrupt): the
    /// session failed while making images, and none of them is kept.
    pub fn images_failed(&self) -> bool {
        self.image_failed || self.images.values().any(|i| !i.done)
    }

    /// The finished AMIs by region.
    pub fn finished(&self) -> BTreeMap<String, String> {
        self.images
            .iter()
            .filter(|(_, i)| i.done)
            .map(|(r, i)| (r.clone(), i.id.clone()))
            .collect()
    }
}
