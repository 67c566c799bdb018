package links

import (
	"regexp"
	"strings"
)

// Link-preview fetchers: apps that fetch a link when it is shared or
// received to show a card, before (or without) anyone tapping it. Matched
// case-insensitively as substrings of the User-Agent, in this order, so
// the name logged is the most specific one: iMessage sends
// "facebookexternalhit/1.1 Facebot Twitterbot/1.0" and is logged as
// facebookexternalhit.
var previewAgents = []string{
	"facebookexternalhit", "Facebot", "meta-externalagent",
	"Slackbot", "Slack-ImgProxy",
	"WhatsApp", "TelegramBot", "Discordbot", "Twitterbot", "LinkedInBot",
	"SkypeUriPreview", "Googlebot", "Google-PageRenderer", "bingbot", "Applebot",
	"redditbot", "Pinterestbot", "Embedly", "Iframely", "vkShare", "Viber", "Snapchat", "Mastodon",
}

// maxAgent is how much of a User-Agent Classify reads.
const maxAgent = 512

// botWord catches the many other crawlers that say what they are.
var botWord = regexp.MustCompile(`(?i)\b(bot|crawler|spider|preview|fetcher)\b|bot/`)

// Classify names the kind of request for a short link: "head" for a HEAD
// request, a preview fetcher's name, "bot", "none" for a request without
// a User-Agent (every phone's browser sends one), or "browser". preview
// reports that it is not a person's click.
func Classify(userAgent string, head bool) (agent string, preview bool) {
	if head {
		return "head", true
	}
	ua := strings.TrimSpace(userAgent)
	if len(ua) > maxAgent {
		// Every fetcher names itself near the start; a longer header is
		// junk, and scanning it whole would let a request buy CPU.
		ua = ua[:maxAgent]
	}
	if ua == "" {
		return "none", true
	}
	lower := strings.ToLower(ua)
	for _, name := range previewAgents {
		if strings.Contains(lower, strings.ToLower(name)) {
			return name, true
		}
	}
	if botWord.MatchString(ua) {
		return "bot", true
	}
	return "browser", false
}
